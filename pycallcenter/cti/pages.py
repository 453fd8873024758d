"""The login page (HTML and CSS in one string: the package ships .py files only)."""
import html

LOGIN = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pycallcenter: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{margin:0;font-family:DejaVu Sans,Arial,sans-serif;background:#101820;color:#e8eef2;display:flex;
justify-content:center;align-items:center;min-height:100vh}
form{background:#1e3142;padding:28px 32px;border-radius:10px;min-width:300px}
h1{font-size:22px;margin:0 0 18px}label{display:block;margin:12px 0 4px;color:#9fb3c8}
input{width:100%;box-sizing:border-box;padding:8px;font-size:16px;border-radius:4px;border:1px solid #2c4358}
button{margin-top:18px;padding:8px 18px;font-size:16px}.msg{color:#ff5c5c;min-height:1em}
</style></head><body>
<form method="post" action="/login">
<h1>Call centre: log in</h1>
<div class="msg" id="msg">{message}</div>
<input type="hidden" name="csrf" value="{csrf}">
<label for="name">Name</label><input id="name" name="name" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password"
 autocomplete="current-password" required>
<button type="submit" id="login">Log in</button>
</form></body></html>
"""


def login_page(csrf, message=""):
    """Return the login page's HTML with its CSRF token and a message (escaped)."""
    return LOGIN.replace("{csrf}", html.escape(csrf)).replace("{message}", html.escape(message))
