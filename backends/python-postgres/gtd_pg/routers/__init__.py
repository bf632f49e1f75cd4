"""One Starlette Router per resource: health, tasks, projects."""
