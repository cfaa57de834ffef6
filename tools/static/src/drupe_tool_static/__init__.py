"""The staticdir and staticfile tools for drupe, and serve_file / serve_download / serve_fileobj."""
