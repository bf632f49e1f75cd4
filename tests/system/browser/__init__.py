"""The web app driven in Chromium against the stack ``make run`` starts."""
