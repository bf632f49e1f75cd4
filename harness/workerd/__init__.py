"""The Worker on real workerd: the offline Pyodide bundle, the dev overlay, the Node launcher."""
