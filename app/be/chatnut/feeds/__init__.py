"""Server-Sent Event feeds: the room feed, the sidebar feed and the
combined feed a browser tab uses, all driven by the hub, never by polling."""
