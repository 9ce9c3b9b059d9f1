#!/usr/bin/env python3
"""Adapter between tokenstore-check and a TokenStore written in Python against the Zoho CRM SDK.

Speaks the adapter protocol (specs/adapter-protocol.md): JSON lines on stdin and stdout. Builds
the SDK's own token objects the way the SDK does (OAuthToken without its constructor, every field
set to None, UserSignature for the user name), calls the store's six methods, and reports the
answers, the caller's token as the store left it, and exceptions as error kinds.

    python3 tokenstore_adapter.py --store module:Class [--path DIR] [--kwargs JSON]
                                  [--name NAME] [--limits JSON] [--not-persistent]
                                  [--refusal CLASS]... [--no-threads] [--verbose]

In --kwargs, "{tmpdir}" becomes a fresh directory at each reset (the same one at each reopen) and
"{namespace}" the namespace being opened. The store runs with that directory as its working
directory. When the kwargs name no {tmpdir}, the storage outlives the instance (a database), so a
reset empties it through the store's own delete_tokens when a fresh store there is not empty.
Every reset also gives the store a fresh working directory, so a store that writes a relative
path (the SDK samples' `zohooauth.db`) starts empty without relying on its delete_tokens. A second adapter process `attach`es to the
first one's {tmpdir} (or the same database) for the processes and crash tiers; --limits declares
what the store cannot hold (without it, a `tokenstore_limits` dict on the store class, in the
same shape, does). Standard library only, beside the SDK.

How a store says no (specs/tokenstore.md, section 12): an exception class named NotFound,
Conflict or InvalidToken, or a `tokenstore_kind` attribute, is a typed refusal; the SDK's own
SDKException (or a class named with --refusal) raised by the store itself is an untyped refusal;
one whose cause (`cause=`, `raise ... from`) is another exception, such as a driver error, is a
failure of the storage, as is any other exception. The adapter answers exactly what the store
did: a list where get_tokens returns None, or a token that is not an OAuthToken, is reported as
an error of that call, never repaired.

Threads (protocol 2): calls the harness sends while others are in flight run at once, on threads
sharing the one store object, as a multi-threaded web app shares its store: the kit's concurrency
tier then applies. A call runs on the thread that made the store whenever that thread is free, so
a store only its own thread may call fails the concurrency tier alone. --no-threads answers one
call at a time (protocol 1), for a store its authors say is never used from two threads.

At each reset and attach, every store object the kit opened is closed with its close(), aclose()
(awaited), dispose() or end(), the first it has, and dropped.
"""

import argparse
import asyncio
import concurrent.futures
import importlib
import inspect
import json
import os
import shutil
import sys
import tempfile
import threading
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


class WrongAnswer(Exception):
    """The store answered with a value of the wrong type (a failure of that call)."""


def dump_token(token, call="the store"):
    if token is None:
        return None
    if not hasattr(token, "get_refresh_token"):
        raise WrongAnswer("%s returned %s %r, want an OAuthToken" % (call, type(token).__name__,
                                                                      token))
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


# Exception classes of database drivers that mean "a constraint refused this write" (a unique key,
# say): a store that turns one into its refusal is refusing, not failing.
CONSTRAINT_ERRORS = ("IntegrityError",)
# The user's own untyped refusal classes (--refusal), by class name.
REFUSALS = {"SDKException"}


def class_names(exc):
    return {cls.__name__ for cls in type(exc).__mro__}


def cause_of(exc):
    """The exception `exc` explicitly wraps: the SDKException's `cause`, or `raise ... from`."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return cause
    return exc.__cause__


def is_refusal(exc):
    """An untyped refusal: one of the refusal classes, raised by the store itself or wrapping
    only refusals and constraint errors, never a driver or programming error. A constraint error
    that escapes the store unwrapped is a failure, not a refusal."""
    if not class_names(exc) & REFUSALS:
        return False
    seen = 0
    while exc is not None and seen < 10:
        names = class_names(exc)
        if names & set(CONSTRAINT_ERRORS):
            return True
        if not names & REFUSALS:
            return False
        exc = cause_of(exc)
        seen += 1
    return True


def error_of(exc):
    """The protocol error for an exception the store raised. A store says what kind of error it
    means with a `tokenstore_kind` attribute or an exception class named NotFound, Conflict or
    InvalidToken (with a `field` attribute): a typed refusal. The SDK's SDKException (or a class
    named with --refusal) raised from the store's own checks is an untyped refusal, `refused`;
    the official stores' SDKException for an unknown id is read from its message as NotFound.
    Anything else, an SDKException wrapping a driver error included, is `other`."""
    kind = getattr(exc, "tokenstore_kind", None)
    names = class_names(exc)
    message = str(exc) or type(exc).__name__
    if kind is None:
        if names & {"NotFound", "NotFoundError", "TokenNotFound"}:
            kind = "NotFound"
        elif names & {"Conflict", "ConflictError"}:
            kind = "Conflict"
        elif "InvalidToken" in names:
            kind = "InvalidToken"
        elif "SDKException" in names and any(m in message for m in SDK_NOT_FOUND) \
                and cause_of(exc) is None:
            kind = "NotFound"
        elif is_refusal(exc):
            kind = "refused"
        else:
            kind = "other"
    error = {"kind": kind, "message": "%s: %s" % (type(exc).__name__, message)}
    field = getattr(exc, "field", None)
    if field in FIELDS:
        error["field"] = field
    return error


class StartupError(Exception):
    """A flag the adapter cannot start with: one line naming it and what to do."""


class SetupFailure(Exception):
    """The kit cannot prepare fresh storage because the store broke `rule` doing it."""

    def __init__(self, rule, message):
        Exception.__init__(self, message)
        self.rule = rule
        self.message = message


def load_class(module_name, class_name, path):
    """The store class, or a StartupError saying what the import path was."""
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        where = "--path %s" % os.path.abspath(path) if path else "no --path"
        raise StartupError(
            "--store %s:%s: cannot import module %r (%s: %s); the import path has %s and the "
            "working directory %s: pass --path DIR with the directory that holds %s.py"
            % (module_name, class_name, module_name, type(exc).__name__, exc, where,
               os.getcwd(), module_name.replace(".", "/")))
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise StartupError("--store %s:%s: module %r (%s) has no class %r"
                           % (module_name, class_name, module_name,
                              getattr(module, "__file__", "?"), class_name))


# The six methods of the interface the kit checks (zohocrmsdk5-0 and later).
NEW_METHODS = ("find_token", "save_token", "delete_token", "get_tokens", "delete_tokens",
               "find_token_by_id")


def older_interface(cls):
    """Why `cls` cannot be checked, as one line, when it implements the TokenStore interface of
    the SDK's older releases instead (get_token(user, token) ...; ../specs/adapter-protocol.md,
    "Store interfaces"); None when it implements the six methods the kit calls. A class with
    both is checked through the six."""
    has = lambda name: callable(getattr(cls, name, None))
    if has("find_token") and has("find_token_by_id"):
        return None
    if not has("get_token"):
        return None
    if has("get_token_by_id"):
        interface = ("get_token(user, token), save_token(user, token), delete_token(token), "
                     "get_tokens(), delete_tokens(), get_token_by_id(id, token): the interface "
                     "of zohocrmsdk2-0 2.0.0 to 6.0.0 and zohocrmsdk2-1")
    else:
        interface = ("get_token(user, token), save_token(user, token), delete_token(token), "
                     "get_tokens(), delete_tokens(): the interface of zcrmsdk 3.x and "
                     "zohocrmsdk2-0 1.0.0")
    return ("%s implements the older TokenStore interface (%s); the kit checks the interface "
            "of zohocrmsdk5-0 and later (%s), which the SDK releases still supported call: "
            "port the store to it" % (cls.__name__, interface,
                                      ", ".join(m + "()" for m in NEW_METHODS)))


# Methods that release a store object's resources (connections, files), tried in this order; the
# adapter calls the first the object has when the kit is done with it.
CLOSERS = ("close", "aclose", "dispose", "end")


def close_store(store):
    """Releases `store` with its first method of CLOSERS (awaited when it is a coroutine); a
    store without one is only dropped. What the method raises is ignored: the kit is done with
    the object either way."""
    for name in CLOSERS:
        method = getattr(store, name, None)
        if callable(method):
            try:
                result = method()
                if inspect.isawaitable(result):
                    asyncio.run(result)
            except Exception:
                pass
            return


class Adapter:
    def __init__(self, args):
        if args.path:
            sys.path.insert(0, os.path.abspath(args.path))
        module_name, _, class_name = args.store.partition(":")
        if not module_name or not class_name:
            raise StartupError("--store %r: want module:Class, for example my_store:MyTokenStore"
                               % args.store)
        self.cls = load_class(module_name, class_name, args.path)
        older = older_interface(self.cls)
        if older:
            raise StartupError("--store %s: %s" % (args.store, older))
        try:
            kwargs = json.loads(args.kwargs.replace("{tmpdir}", "").replace("{namespace}", "x"))
        except ValueError as exc:
            raise StartupError("--kwargs %r is not JSON (%s): want an object such as "
                               "'{\"path\": \"{tmpdir}/tokens.db\"}'" % (args.kwargs, exc))
        if not isinstance(kwargs, dict):
            raise StartupError("--kwargs %r is not a JSON object: want the constructor's keyword "
                               "arguments, such as '{\"path\": \"{tmpdir}/tokens.db\"}'"
                               % args.kwargs)
        try:
            json.loads(args.limits)
        except ValueError as exc:
            raise StartupError("--limits %r is not JSON (%s): want "
                               "'{\"max_chars\": {\"user_name\": 255}}'" % (args.limits, exc))
        self.kwargs_text = args.kwargs
        self.name = args.name or class_name
        self.persistent = not args.not_persistent
        # Limits on the command line win; else the ones the store class declares.
        self.limits = json.loads(args.limits)
        if args.limits == "{}" and isinstance(getattr(self.cls, "tokenstore_limits", None), dict):
            self.limits = self.cls.tokenstore_limits
        self.local = "{tmpdir}" in args.kwargs
        self.namespaced = "{namespace}" in args.kwargs
        self.tmpdir = None
        # Whether this process made tmpdir (and removes it), or attached to another's.
        self.owns_tmpdir = False
        self.stores = {}
        # Namespace -> the store object a reset made to look at the storage, handed to the first
        # open of that namespace after it, so fresh storage is opened by one object.
        self.fresh = {}
        self.next_handle = 1
        self.threads = not args.no_threads

    def kwargs(self, namespace):
        text = self.kwargs_text.replace("{tmpdir}", json.dumps(self.tmpdir or "")[1:-1])
        text = text.replace("{namespace}", namespace)
        return json.loads(text)

    def hello(self, request):
        # Protocol 2, when the harness speaks it: overlapping calls run on threads.
        self.threads = self.threads and (request.get("protocol") or 1) >= 2
        return {"name": self.name, "language": "python", "protocol": 2 if self.threads else 1,
                "capabilities": {"persistent": self.persistent, "namespaces": self.namespaced,
                                 "concurrent": self.threads, "processes": self.persistent},
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

    def release(self):
        """Closes every store object open in this process (close_store) and drops it."""
        held = {id(store): store for store in [*self.stores.values(), *self.fresh.values()]}
        self.stores.clear()
        self.fresh.clear()
        for store in held.values():
            close_store(store)

    def reset(self, request):
        """Fresh storage: a fresh working directory (and {tmpdir}); storage outside it (a
        database) is emptied through the store's own delete_tokens, only when it holds tokens."""
        self.release()
        self.new_tmpdir()
        if not self.local:
            for namespace in (HARNESS_NAMESPACES if self.namespaced else ("main",)):
                self.empty(namespace)
        return {"dir": self.tmpdir}

    def empty(self, namespace):
        store = self.cls(**self.kwargs(namespace))
        self.fresh[namespace] = store
        try:
            held = store.get_tokens()
        except Exception:
            held = True
        if not held:
            return
        try:
            store.delete_tokens()
            left = store.get_tokens()
        except Exception as exc:
            raise SetupFailure("delete-tokens.empties",
                               "delete_tokens() = Err(%s: %s), want Ok: the kit empties the "
                               "store's storage with it before each check"
                               % (type(exc).__name__, exc))
        if left:
            raise SetupFailure("delete-tokens.empties",
                               "get_tokens() after delete_tokens() = %d tokens, want []: the "
                               "kit empties the store's storage with it before each check"
                               % len(left))

    def attach(self, request):
        """Uses the storage another adapter process made (its {tmpdir}), without emptying it."""
        self.release()
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
        made = self.fresh.pop(request["namespace"], None)
        self.stores[handle] = made if made is not None else self.cls(**self.kwargs(request["namespace"]))
        return {"store": handle}

    def store(self, request):
        return self.stores[request["store"]]

    def find_token(self, request):
        caller = build_token(request["token"])
        found = self.store(request).find_token(caller)
        return {"found": dump_token(found, "find_token()"), "caller": dump_token(caller)}

    def save_token(self, request):
        caller = build_token(request["token"])
        self.store(request).save_token(caller)
        return {"caller": dump_token(caller)}

    def delete_token(self, request):
        self.store(request).delete_token(request["id"])
        return None

    def get_tokens(self, request):
        tokens = self.store(request).get_tokens()
        if not isinstance(tokens, (list, tuple)):
            raise WrongAnswer("get_tokens() returned %r, not a list: want [] for an empty store"
                              % (tokens,))
        return [dump_token(t, "get_tokens()") for t in tokens]

    def delete_tokens(self, request):
        self.store(request).delete_tokens()
        return None

    def find_token_by_id(self, request):
        return dump_token(self.store(request).find_token_by_id(request["id"]),
                          "find_token_by_id()")


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
    parser.add_argument("--refusal", action="append", default=[], metavar="CLASS",
                        help="an exception class (name, or module:Class) the store raises for "
                             "its refusals, beside the SDK's SDKException; repeatable")
    parser.add_argument("--no-threads", action="store_true",
                        help="answer one call at a time (protocol 1), for a store never used from "
                             "two threads; by default overlapping calls run on threads")
    parser.add_argument("--verbose", action="store_true",
                        help="print the full traceback of a startup failure")
    args = parser.parse_args()
    REFUSALS.update(name.rpartition(":")[2].rpartition(".")[2] for name in args.refusal)

    # Responses go to the real stdout; anything the store prints goes to stderr.
    responses = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    global SDK
    try:
        SDK = sdk_classes()
        adapter = Adapter(args)
    except StartupError as exc:
        if args.verbose:
            traceback.print_exc(file=sys.stderr)
        print("tokenstore_adapter: %s" % exc, file=sys.stderr)
        sys.exit(2)
    except ImportError as exc:
        if args.verbose:
            traceback.print_exc(file=sys.stderr)
        print("tokenstore_adapter: cannot import the Zoho CRM SDK (%s): install it with "
              "`pip install zohocrmsdk8-0` into the Python that runs the adapter" % exc,
              file=sys.stderr)
        sys.exit(2)
    write_lock = threading.Lock()

    def answer(request):
        """The response to `request`, as a JSON line."""
        op = request.get("op")
        response = {"seq": request.get("seq")}
        handler = getattr(adapter, op, None) if op in OPS else None
        try:
            if handler is None:
                raise RuntimeError("unknown op %r" % op)
            response["ok"] = handler(request)
        except SetupFailure as exc:
            response["error"] = {"kind": "other", "message": exc.message, "rule": exc.rule}
        except WrongAnswer as exc:
            response["error"] = {"kind": "other", "message": str(exc)}
        except Exception as exc:
            response["error"] = error_of(exc)
            if response["error"]["kind"] == "other":
                traceback.print_exc(file=sys.stderr)
        return json.dumps(response) + "\n"

    def write(line):
        with write_lock:
            responses.write(line)

    dispatcher = Dispatcher(answer, write, adapter.threads)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        op = request.get("op")
        if op == "shutdown":
            dispatcher.drain()
            write(json.dumps({"seq": request.get("seq"), "ok": None}) + "\n")
            break
        if adapter.threads and op in STORE_OPS:
            dispatcher.call(request)
        else:
            # hello, reset, attach, reopen: alone, once the calls in flight are done, so a store
            # is never dropped under a running call.
            dispatcher.alone(request)
    dispatcher.shutdown()


class Dispatcher:
    """Runs the adapter's requests. Everything runs on one owner thread, where the store objects
    are made, as an app makes its store at start-up and then calls it from its request threads: a
    call that comes while the owner thread is busy with another runs on a second thread, so calls
    overlap only when the harness overlaps them. A store that only its own thread may call (a
    sqlite3 connection as Python makes it by default) then fails the concurrency tier alone, and
    every other rule is judged on calls from the thread that made it."""

    def __init__(self, answer, write, threads):
        self.answer = answer
        self.write = write
        self.owner = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self.others = concurrent.futures.ThreadPoolExecutor(max_workers=15) if threads else None
        self.lock = threading.Lock()
        self.owner_busy = False
        self.in_flight = set()

    def call(self, request):
        with self.lock:
            on_owner = not self.owner_busy
            if on_owner:
                self.owner_busy = True
        future = (self.owner if on_owner else self.others).submit(self.run, request, on_owner)
        with self.lock:
            self.in_flight.add(future)
        future.add_done_callback(self.done)

    def run(self, request, on_owner):
        line = self.answer(request)
        if on_owner:
            # Free before the response goes out: the harness's next call, sent once it reads
            # this one, finds the owner thread free.
            with self.lock:
                self.owner_busy = False
        self.write(line)

    def done(self, future):
        with self.lock:
            self.in_flight.discard(future)

    def drain(self):
        with self.lock:
            running = list(self.in_flight)
        concurrent.futures.wait(running)

    def alone(self, request):
        self.drain()
        self.write(self.owner.submit(self.answer, request).result())

    def shutdown(self):
        self.drain()
        self.owner.shutdown(wait=True)
        if self.others is not None:
            self.others.shutdown(wait=True)


STORE_OPS = {"find_token", "save_token", "delete_token", "get_tokens", "delete_tokens",
             "find_token_by_id"}
OPS = {"hello", "reset", "attach", "reopen"} | STORE_OPS

if __name__ == "__main__":
    main()
