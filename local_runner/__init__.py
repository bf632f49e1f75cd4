"""The gateway twin: serves ``gateway.app.Gateway.handle`` under CPython through its own HTTP server (see __main__)."""
