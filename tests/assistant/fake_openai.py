"""A fake OpenAI-compatible server on 127.0.0.1: streams chat completions like the real
API (``data: {chunk}`` lines, ``data: [DONE]``), and fails on demand (429, 5xx, slow)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI:
    def __init__(self):
        self.script: list[dict] = []  # one entry per request: {"status": 200, "chunks": [...], "delay": s}
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append({"path": self.path, "headers": dict(self.headers), "json": body})
                step = server.script.pop(0) if server.script else {"status": 200, "chunks": ["Hello."]}
                if step.get("delay"):
                    time.sleep(step["delay"])
                status = step.get("status", 200)
                if status != 200:
                    payload = json.dumps({"error": {"message": step.get("message", "fail"), "type": "server_error"}})
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    if "retry_after" in step:
                        self.send_header("Retry-After", str(step["retry_after"]))
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload.encode())
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                events = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
                events += [{"choices": [{"index": 0, "delta": {"content": c}}]} for c in step.get("chunks", [])]
                events += [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
                for i, event in enumerate(events):
                    base = {
                        "id": "chatcmpl-1",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body.get("model"),
                    }
                    self._chunk(f"data: {json.dumps({**base, **event})}\n\n")
                    if step.get("stall_after") is not None and i == step["stall_after"]:
                        time.sleep(step["stall"])
                self._chunk("data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")

            def _chunk(self, text: str):
                data = text.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
