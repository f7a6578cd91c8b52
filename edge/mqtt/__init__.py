"""MQTT feed: topics, command validation, the store-and-forward publisher."""
