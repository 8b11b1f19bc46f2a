"""Services beside the Holoscan graph: inference-server clients and launchers, the item catalog and its index."""
