"""The top layer: the HTTP API (web.api), the hardening around every route
(web.limits, web.security), /docs from local files (web.docs), assembled with the web
page (ui.web) into one server (web.server). Nothing below imports it."""
