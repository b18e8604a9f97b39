"""The command lines beside the main job: predict, promote, server, sync (also console scripts)."""
