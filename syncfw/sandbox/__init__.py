"""Local emulators of Notion and of each installed connector's source API (``syncfw sandbox``)."""
