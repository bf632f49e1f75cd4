"""``gtd-data``: export, import and copy a person's GTD data between backends, through the gateway."""
