"""Headless Chromium driven over the DevTools protocol (its WebSocket, through the `websockets` package of
the test extra): navigate, evaluate JavaScript, take screenshots. Tests of the web pages use it; they
tick the engine between calls, so every call here returns quickly or waits with a callback."""
import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request


def chromium():
    """Return the Chromium executable, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium with one page (args: more command-line switches); close() ends the process."""

    def __init__(self, profile, width=1600, height=1000, args=()):
        from websockets.sync.client import connect

        os.makedirs(profile, exist_ok=True)
        self.proc = subprocess.Popen([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                      "--remote-debugging-port=0", f"--user-data-dir={profile}",
                                      f"--window-size={width},{height}", "--ignore-certificate-errors",
                                      *args, "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            page = [t for t in json.load(r) if t["type"] == "page"][0]
        self.ws = connect(page["webSocketDebuggerUrl"], max_size=64 << 20, proxy=None, ping_interval=None)
        self._ids = 0
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method, idle=None, **params):
        """Send one DevTools command; return its result (idle() is called while waiting, e.g. engine ticks)."""
        self._ids += 1
        self.ws.send(json.dumps({"id": self._ids, "method": method, "params": params}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                msg = json.loads(self.ws.recv(timeout=0.005 if idle else 1.0))
            except TimeoutError:
                if idle:
                    idle()
                continue
            if msg.get("id") == self._ids:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]
        raise TimeoutError(f"{method}: no answer")

    def evaluate(self, expression, idle=None):
        """Return the value of a JavaScript expression in the page."""
        r = self.call("Runtime.evaluate", idle, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression[:60]}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def navigate(self, url, idle=None):
        """Load url and wait until its document is complete."""
        self.call("Page.navigate", idle, url=url)
        self.wait("document.readyState === 'complete' && location.href !== 'about:blank'", idle)

    def wait(self, expression, idle=None, seconds=30.0):
        """Wait until a JavaScript expression is true (calling idle between tries); return its value."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                value = self.evaluate(expression, idle)
            except RuntimeError:  # the page is between documents
                value = None
            if value:
                return value
            if idle:
                idle()
            else:
                time.sleep(0.05)
        raise AssertionError(f"not true after {seconds} s: {expression}")

    def log_in(self, base, name, password, idle=None):
        """Log in through the server's login form; return the path it sent the browser to."""
        self.navigate(base + "/", idle)
        self.evaluate(f"document.getElementById('name').value='{name}';document.getElementById('password').value="
                      f"'{password}';document.querySelector('form').submit();true")
        self.wait("location.pathname !== '/' && document.readyState === 'complete'", idle)
        return self.evaluate("location.pathname")

    def screenshot(self, path):
        """Save a PNG of the page; return its path."""
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self):
        """End the browser."""
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
