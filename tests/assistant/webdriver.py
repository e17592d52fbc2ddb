"""A minimal W3C WebDriver client over httpx, driving Debian's chromedriver + chromium
headless (no extra test dependency). Everything stays on 127.0.0.1."""

import socket
import subprocess
import time

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=420,900",  # a narrow Canvas iframe
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    def __init__(self, user_data_dir: str):
        port = _free_port()
        self.driver = subprocess.Popen(  # noqa: S603
            [CHROMEDRIVER, f"--port={port}", "--allowed-ips=127.0.0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        for _ in range(100):
            try:
                self.http.get("/status")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [*ARGS, f"--user-data-dir={user_data_dir}"]},
        }
        session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        self.session = f"/session/{session['sessionId']}"

    def _call(self, method: str, path: str, body: dict | None = None):
        response = self.http.request(
            method, path, json=body if body is not None else ({} if method == "POST" else None)
        )
        data = response.json()
        if response.status_code >= 400:
            raise RuntimeError(f"WebDriver {path}: {data}")
        return data["value"]

    def get(self, url: str):
        self._call("POST", f"{self.session}/url", {"url": url})

    def add_cookie(self, name: str, value: str):
        self._call("POST", f"{self.session}/cookie", {"cookie": {"name": name, "value": value, "path": "/"}})

    def find(self, css: str) -> str:
        return self._call("POST", f"{self.session}/element", {"using": "css selector", "value": css})[ELEMENT]

    def type(self, css: str, text: str):
        self._call("POST", f"{self.session}/element/{self.find(css)}/value", {"text": text})

    def run(self, script: str, *args):
        return self._call("POST", f"{self.session}/execute/sync", {"script": script, "args": list(args)})

    def wait_for(self, script: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.run(script)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"Timed out waiting for: {script}")

    def screenshot(self) -> bytes:
        import base64

        return base64.b64decode(self._call("GET", f"{self.session}/screenshot"))

    def close(self):
        try:
            self._call("DELETE", self.session)
        finally:
            self.http.close()
            self.driver.terminate()
            self.driver.wait(timeout=10)
