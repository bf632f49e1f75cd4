"""The gateway twin: serves gateway.app.on_fetch under CPython (see __main__)."""
