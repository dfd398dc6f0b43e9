"""Example experiment configs: `sheetgen init-config --example NAME` prints them."""
