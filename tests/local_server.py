"""A small HTTP server on 127.0.0.1 that the download tests start themselves."""

import http.server
import threading
from contextlib import contextmanager


@contextmanager
def serving(files: dict[str, bytes], cut_short: set[str] = frozenset()):
    """Serve `files` (path → bytes). For paths in `cut_short`, announce the full length, send half
    the bytes, and close the connection (a connection that dies midway). Yields the base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if self.path in cut_short else body)
            if self.path in cut_short:
                self.close_connection = True

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
