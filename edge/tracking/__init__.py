"""Multi-face tracking (norfair) with anonymous, short-lived ids and scene-cut resets."""
