#!/usr/bin/env python3
"""Adapter between tokenstore-check and a TokenStore written in Python against the Zoho CRM SDK.

Speaks the adapter protocol (specs/adapter-protocol.md): JSON lines on stdin and stdout. Builds
the SDK's own token objects the way the SDK does (OAuthToken without its constructor, every field
set to None, UserSignature for the user name), calls the store's six methods, and reports the
answers, the caller's token as the store left it, and exceptions as error kinds.

    python3 tokenstore_adapter.py --store module:Class [--path DIR] [--kwargs JSON]
                                  [--name NAME] [--limits JSON] [--not-persistent]

In --kwargs, "{tmpdir}" becomes a fresh directory at each reset (the same one at each reopen) and
"{namespace}" the namespace being opened. The store runs with that directory as its working
directory. When the kwargs name no {tmpdir}, the storage outlives the instance (a database), so a
reset empties it through the store's own delete_tokens. A second adapter process `attach`es to the
first one's {tmpdir} (or the same database) for the processes and crash tiers; --limits declares
what the store cannot hold. Standard library only, beside the SDK.
"""

import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile
import traceback

FIELDS = ["id", "user_name", "client_id", "client_secret", "refresh_token", "access_token",
          "grant_token", "expiry_time", "redirect_url", "api_domain"]
ACCESSORS = {
    "id": "id", "client_id": "client_id", "client_secret": "client_secret",
    "refresh_token": "refresh_token", "access_token": "access_token",
    "grant_token": "grant_token", "expiry_time": "expires_in", "redirect_url": "redirect_url",
    "api_domain": "api_domain",
}
# Namespaces the harness opens; a reset of storage that outlives the store empties each.
HARNESS_NAMESPACES = ("main", "other")
# Messages of the SDK's exceptions that mean "no token with that id".
SDK_NOT_FOUND = ("Given Id not found", "Given ID is invalid", "Given Id is invalid")


def sdk_classes():
    from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
    from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature
    return OAuthToken, UserSignature


SDK = None  # (OAuthToken, UserSignature), imported at start


SETTERS = [(name, "set_" + accessor) for name, accessor in ACCESSORS.items()]
GETTERS = [(name, "get_" + accessor) for name, accessor in ACCESSORS.items()]


def build_token(fields):
    """An OAuthToken as the SDK builds one: no constructor, every setter called with None."""
    OAuthToken, UserSignature = SDK
    token = object.__new__(OAuthToken)
    fields = fields or {}
    for name, setter in SETTERS:
        getattr(token, setter)(fields.get(name))
    user = fields.get("user_name")
    token.set_user_signature(UserSignature(user) if user is not None else None)
    return token


def dump_token(token):
    if token is None:
        return None
    out = {}
    for name, getter in GETTERS:
        method = getattr(token, getter, None)
        value = method() if method is not None else None
        out[name] = None if value is None else str(value)
    method = getattr(token, "get_user_signature", None)
    signature = method() if method is not None else None
    name = signature.get_name() if signature is not None else None
    out["user_name"] = None if name is None else str(name)
    return out


def error_of(exc):
    """The protocol error for an exception the store raised. A store says what kind of error it
    means with a `tokenstore_kind` attribute or an exception class named NotFound, Conflict or
    InvalidToken (with a `field` attribute); the official stores' SDKException is read from its
    message; anything else is `other`."""
    kind = getattr(exc, "tokenstore_kind", None)
    names = {cls.__name__ for cls in type(exc).__mro__}
    message = str(exc) or type(exc).__name__
    if kind is None:
        if names & {"NotFound", "NotFoundError", "TokenNotFound"}:
            kind = "NotFound"
        elif names & {"Conflict", "ConflictError"}:
            kind = "Conflict"
        elif "InvalidToken" in names:
            kind = "InvalidToken"
        elif "SDKException" in names and any(m in message for m in SDK_NOT_FOUND):
            kind = "NotFound"
        else:
            kind = "other"
    error = {"kind": kind, "message": "%s: %s" % (type(exc).__name__, message)}
    field = getattr(exc, "field", None)
    if field in FIELDS:
        error["field"] = field
    return error


class Adapter:
    def __init__(self, args):
        if args.path:
            sys.path.insert(0, os.path.abspath(args.path))
        module_name, _, class_name = args.store.partition(":")
        if not class_name:
            raise SystemExit("--store must be module:Class, got %r" % args.store)
        self.cls = getattr(importlib.import_module(module_name), class_name)
        self.kwargs_text = args.kwargs
        self.name = args.name or class_name
        self.persistent = not args.not_persistent
        self.limits = json.loads(args.limits)
        self.local = "{tmpdir}" in args.kwargs
        self.namespaced = "{namespace}" in args.kwargs
        self.tmpdir = None
        # Whether this process made tmpdir (and removes it), or attached to another's.
        self.owns_tmpdir = False
        self.stores = {}
        self.next_handle = 1

    def kwargs(self, namespace):
        text = self.kwargs_text.replace("{tmpdir}", json.dumps(self.tmpdir or "")[1:-1])
        text = text.replace("{namespace}", namespace)
        return json.loads(text)

    def hello(self, request):
        return {"name": self.name, "language": "python", "protocol": 1,
                "capabilities": {"persistent": self.persistent, "namespaces": self.namespaced,
                                 "concurrent": False, "processes": self.persistent},
                "limits": self.limits}

    def new_tmpdir(self):
        self.drop_tmpdir()
        self.tmpdir = tempfile.mkdtemp(prefix="tokenstore-adapter-")
        self.owns_tmpdir = True
        os.chdir(self.tmpdir)

    def drop_tmpdir(self):
        if self.tmpdir and self.owns_tmpdir:
            os.chdir("/")
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        self.tmpdir = None

    def reset(self, request):
        self.stores.clear()
        self.new_tmpdir()
        if not self.local:
            for namespace in (HARNESS_NAMESPACES if self.namespaced else ("main",)):
                try:
                    self.cls(**self.kwargs(namespace)).delete_tokens()
                except Exception as exc:
                    raise RuntimeError("reset: the store's delete_tokens failed, so its storage "
                                       "cannot be emptied between checks: %s" % exc)
        return {"dir": self.tmpdir if self.local else None}

    def attach(self, request):
        """Uses the storage another adapter process made (its {tmpdir}), without emptying it."""
        self.stores.clear()
        if request.get("dir") is None:
            if self.local:
                raise RuntimeError("attach: this store keeps its storage in {tmpdir}; name it")
            self.new_tmpdir()
            return None
        self.drop_tmpdir()
        self.tmpdir = request["dir"]
        os.chdir(self.tmpdir)
        return None

    def reopen(self, request):
        if self.tmpdir is None:
            # Opened before any reset: the harness looks at what the store already holds.
            self.new_tmpdir()
        handle = self.next_handle
        self.next_handle += 1
        self.stores[handle] = self.cls(**self.kwargs(request["namespace"]))
        return {"store": handle}

    def store(self, request):
        return self.stores[request["store"]]

    def find_token(self, request):
        caller = build_token(request["token"])
        found = self.store(request).find_token(caller)
        return {"found": dump_token(found), "caller": dump_token(caller)}

    def save_token(self, request):
        caller = build_token(request["token"])
        self.store(request).save_token(caller)
        return {"caller": dump_token(caller)}

    def delete_token(self, request):
        self.store(request).delete_token(request["id"])
        return None

    def get_tokens(self, request):
        return [dump_token(t) for t in (self.store(request).get_tokens() or [])]

    def delete_tokens(self, request):
        self.store(request).delete_tokens()
        return None

    def find_token_by_id(self, request):
        return dump_token(self.store(request).find_token_by_id(request["id"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="module:Class of the TokenStore")
    parser.add_argument("--path", help="directory to put first on sys.path")
    parser.add_argument("--kwargs", default="{}", help="constructor keyword arguments, JSON")
    parser.add_argument("--name", help="the store's name in reports (default: the class name)")
    parser.add_argument("--limits", default="{}",
                        help='what the store cannot hold, JSON: {"max_chars": {"user_name": 255}, '
                             '"forbidden_chars": ["\\u0000"]}')
    parser.add_argument("--not-persistent", action="store_true",
                        help="a reopened store does not see earlier tokens (in-memory stores)")
    args = parser.parse_args()

    # Responses go to the real stdout; anything the store prints goes to stderr.
    responses = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    global SDK
    SDK = sdk_classes()
    adapter = Adapter(args)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        op = request.get("op")
        response = {"seq": request.get("seq")}
        if op == "shutdown":
            response["ok"] = None
            responses.write(json.dumps(response) + "\n")
            break
        handler = getattr(adapter, op, None) if op in OPS else None
        try:
            if handler is None:
                raise RuntimeError("unknown op %r" % op)
            response["ok"] = handler(request)
        except Exception as exc:
            response["error"] = error_of(exc)
            if response["error"]["kind"] == "other":
                traceback.print_exc(file=sys.stderr)
        responses.write(json.dumps(response) + "\n")


OPS = {"hello", "reset", "attach", "reopen", "find_token", "save_token", "delete_token", "get_tokens",
       "delete_tokens", "find_token_by_id"}

if __name__ == "__main__":
    main()
