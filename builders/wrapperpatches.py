"""The source edits the rebuilt seldon-core wheel carries (builders/wrapperwheel.py), each explained
beside it. Every edit is an exact match: when upstream's text is not found exactly once, the rebuild
stops naming the edit, instead of shipping a wrapper these edits were not written for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Patch:
    """One exact-match edit of a file of the wheel: `old` must occur exactly once."""

    path: str
    old: str
    new: str
    why: str


PATCHES = (
    # werkzeug >= 2.3 raises UnsupportedMediaType (415, not a BadRequest) from get_json() when the body
    # is not declared as JSON (curl -d without a Content-Type, a GET on /predict without a body); the
    # wrapper's catch-all made that a 500. Caught beside BadRequest, it is the wrapper's 400 again.
    Patch(
        "seldon_core/flask_utils.py",
        "from werkzeug.exceptions import BadRequest\n",
        "from werkzeug.exceptions import BadRequest, UnsupportedMediaType\n",
        "import UnsupportedMediaType",
    ),
    Patch(
        "seldon_core/flask_utils.py",
        "        message = request.get_json()\n    except BadRequest:\n",
        "        message = request.get_json()\n    except (BadRequest, UnsupportedMediaType):\n",
        "a body not declared as JSON is a bad request (400), as before werkzeug 2.3",
    ),
    # The catch-all error handler made every exception a 500, so an unknown path answered 500 with
    # "404 Not Found" in its body. An HTTP error below 500 (404, 405, 415...) keeps its status, with
    # the wrapper's JSON status body; 5xx stays for the class's own failures.
    Patch(
        "seldon_core/wrapper.py",
        "from flask_cors import CORS\n",
        "from flask_cors import CORS\nfrom werkzeug.exceptions import HTTPException\n",
        "import HTTPException",
    ),
    Patch(
        "seldon_core/wrapper.py",
        """            message=str(e), status_code=500, reason="MICROSERVICE_INTERNAL_ERROR"
        )
        response = jsonify(error.to_dict())
""",
        """            message=str(e), status_code=500, reason="MICROSERVICE_INTERNAL_ERROR"
        )
        if isinstance(e, HTTPException) and e.code is not None and e.code < 500:
            reason = (e.name or "BAD_REQUEST").upper().replace(" ", "_")
            error = SeldonMicroserviceException(str(e), status_code=e.code, reason=reason)
        response = jsonify(error.to_dict())
""",
        "an HTTP error below 500 keeps its status",
    ),
    # static_url_path="" registered a GET route for every path (`/<path:filename>`, files of a static
    # folder seldon_core does not ship): a GET on POST-only /api/v1.0/predictions answered 404 and a
    # POST on an unknown path 405. Without it, an unknown path is a 404 and a wrong method a 405.
    # (/seldon.json is a route of its own; the metrics app keeps its own Flask object.)
    Patch(
        "seldon_core/wrapper.py",
        '(user_model, seldon_metrics):\n    app = Flask(__name__, static_url_path="")\n',
        "(user_model, seldon_metrics):\n    app = Flask(__name__, static_folder=None)\n",
        "no catch-all static route on the REST app",
    ),
    # flask-cors's answer to a request without an Origin header (what clients other than browsers
    # send) is one header, "Access-Control-Allow-Origin: *", reached through its generic matching
    # (a noticeable share of the hot path, docs/serving.md). This after_request gives that answer
    # first; flask-cors, which runs after it, then sees the header and leaves the response alone.
    # Anything else (an Origin, a preflight, a private-network request) still gets flask-cors's
    # own answer (tests/unit/test_wrapperwheel.py compares the two).
    Patch(
        "seldon_core/wrapper.py",
        "    app = Flask(__name__, static_folder=None)\n    CORS(app)\n",
        """    app = Flask(__name__, static_folder=None)
    CORS(app)

    @app.after_request
    def allow_any_origin(response):
        \"\"\"flask-cors's defaults for a request that did not ask for CORS, without its matching.\"\"\"
        headers = request.headers
        if (
            request.method != "OPTIONS"
            and "Origin" not in headers
            and "Access-Control-Request-Private-Network" not in headers
            and not response.headers.get("Access-Control-Allow-Origin")
        ):
            response.headers.add("Access-Control-Allow-Origin", "*")
        return response
""",
        "flask-cors's answer without an Origin, without its matching",
    ),
    # Only a form body has form fields: werkzeug parses application/x-www-form-urlencoded and
    # multipart/form-data (which get_request reads before this line) and gives every other type an
    # empty form. Building that empty form for each JSON request cost a noticeable share of the hot
    # path (docs/serving.md); the answer is the same.
    Patch(
        "seldon_core/flask_utils.py",
        '    j_str = request.form.get("json")\n',
        "    j_str = None\n"
        '    if request.mimetype == "application/x-www-form-urlencoded":\n'
        '        j_str = request.form.get("json")\n',
        "the form is read only for a form body",
    ),
    # A WSGI app may return its body as a list. Flask returns an iterator even for a body it holds
    # in memory, and granian then sends it by calling back into Python for each piece; a list it
    # sends at once (what that is worth: docs/serving.md). Bodies that stream, that run code when
    # closed, or that Flask passes through untouched (files), keep what Flask returns.
    Patch(
        "seldon_core/wrapper.py",
        "def get_rest_microservice(",
        """class WholeBodyResponse(Response):
    \"\"\"Flask's response; one whose body is in memory reaches the server as a list.\"\"\"

    def get_app_iter(self, environ):
        app_iter = super().get_app_iter(environ)
        if self.direct_passthrough or not self.is_sequence or self._on_close:
            return app_iter
        body = list(app_iter)
        app_iter.close()  # werkzeug's ClosingIterator: with no _on_close, nothing is left to run
        return body


def get_rest_microservice(""",
        "a body in memory reaches the server as a list",
    ),
    Patch(
        "seldon_core/wrapper.py",
        "    _set_flask_app_configs(app)\n\n    # dict representing the validated model metadata\n",
        "    _set_flask_app_configs(app)\n    app.response_class = WholeBodyResponse\n\n"
        "    # dict representing the validated model metadata\n",
        "the REST app answers with WholeBodyResponse",
    ),
    # The other component types answer under /api/v1.0/ too (predictions, feedback); a COMBINER only at
    # /aggregate, which the graph calls. /api/v1.0/aggregate is the same route, for a user's curl.
    Patch(
        "seldon_core/wrapper.py",
        '    @app.route("/aggregate", methods=["GET", "POST"])\n',
        '    @app.route("/aggregate", methods=["GET", "POST"])\n'
        '    @app.route("/api/v1.0/aggregate", methods=["POST"])\n',
        "/api/v1.0/aggregate beside /aggregate",
    ),
    # gunicorn 27 opens a control socket (runtime management through a file under the working
    # directory, here the model's source folder) in every server it runs: the metrics server, and
    # REST with SELDON_S2I_SERVER=gunicorn. These servers are managed by signals; with a read-only
    # root, the socket only logged an ERROR at each start. Turned off where gunicorn has it.
    Patch(
        "seldon_core/gunicorn_utils.py",
        "        for key, value in config.items():\n            self.cfg.set(key.lower(), value)\n",
        "        for key, value in config.items():\n            self.cfg.set(key.lower(), value)\n"
        '        if "control_socket_disable" in self.cfg.settings:\n'
        '            self.cfg.set("control_socket_disable", True)\n',
        "no gunicorn control socket",
    ),
    # distutils left the standard library in Python 3.12 (Debian's 3.11 ships it apart): setuptools'
    # copy answers the import, at a cost to every server start. The wrapper uses one function of it,
    # for BOOL class parameters: the same rule, written here.
    Patch(
        "seldon_core/microservice.py",
        "from distutils.util import strtobool\n",
        """

def strtobool(val):
    \"\"\"distutils.util.strtobool's rule: 1 for y, yes, t, true, on, 1; 0 for n, no, f, false, off, 0.\"\"\"
    val = val.lower()
    if val in ("y", "yes", "t", "true", "on", "1"):
        return 1
    if val in ("n", "no", "f", "false", "off", "0"):
        return 0
    raise ValueError(f"invalid truth value {val!r}")

""",
        "strtobool without importing distutils",
    ),
    # jsonschema's validate() first checks the schema itself against its metaschema, a cost paid by
    # every process that builds the app or a gRPC servicer (init_metadata always validates), on the
    # way to ready (docs/serving.md). The schema is this module's constant (tests/unit/
    # test_wrapperwheel.py checks it); the instance is validated as before, the best-matching error
    # raised.
    Patch(
        "seldon_core/metadata.py",
        "from jsonschema import validate\n",
        """

def validate(instance, schema):
    \"\"\"jsonschema.validate(instance, schema) without its check of the constant schema.\"\"\"
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    error = best_match(validator_for(schema)(schema).iter_errors(instance))
    if error is not None:
        raise error
""",
        "validate metadata without checking the constant schema each time",
    ),
    # Metadata that only holds the defaults (no init_metadata, no MODEL_METADATA: most models) is
    # valid by construction, so it is not validated, and neither jsonschema nor yaml is imported: a
    # part of every start, before the class is imported (docs/serving.md). Metadata a model declares
    # is read and validated exactly as before; the upstream suite's metadata tests are the judges.
    Patch(
        "seldon_core/metadata.py",
        "from jsonschema.exceptions import ValidationError\n",
        "",
        "no jsonschema import at module level",
    ),
    Patch(
        "seldon_core/metadata.py",
        """    data = {**default_meta, **data}

    try:
        validate(data, JSON_SCHEMA)
    except ValidationError as e:
        raise SeldonInvalidMetadataError(e)
""",
        """    data = {**default_meta, **data}

    if data != default_meta:  # the defaults alone are valid by construction
        from jsonschema.exceptions import ValidationError

        try:
            validate(data, JSON_SCHEMA)
        except ValidationError as e:
            raise SeldonInvalidMetadataError(e)
""",
        "metadata of defaults only is not validated",
    ),
    Patch("seldon_core/seldon_methods.py", "import yaml\n", "", "no yaml import at module level"),
    Patch(
        "seldon_core/seldon_methods.py",
        """    try:
        meta_env = yaml.safe_load(os.environ.get("MODEL_METADATA", "{}"))
    except yaml.YAMLError as e:
        logger.error(f"Reading metadata from MODEL_METADATA env variable failed: {e}")
        meta_env = {}
""",
        """    meta_env = {}  # what yaml reads from the default, "{}"
    if "MODEL_METADATA" in os.environ:
        import yaml

        try:
            meta_env = yaml.safe_load(os.environ["MODEL_METADATA"])
        except yaml.YAMLError as e:
            logger.error(f"Reading metadata from MODEL_METADATA env variable failed: {e}")
            meta_env = {}
""",
        "yaml only for MODEL_METADATA",
    ),
    # gRPC reflection lists the services the wrapper registers, from protobuf's default descriptor
    # pool. The serving shim adds the Open Inference Protocol's service to the same server, with its
    # descriptors in a pool of their own (Dockerfile.python3): through this name it enables reflection
    # for both, so that `grpcurl list` and `describe` show every service the port answers.
    Patch(
        "seldon_core/wrapper.py",
        "logger = logging.getLogger(__name__)\n",
        "logger = logging.getLogger(__name__)\n\n"
        "# how get_grpc_server enables reflection (the serving shim adds the services it registers)\n"
        "enable_reflection = reflection.enable_server_reflection\n",
        "a module-level name for enabling reflection",
    ),
    Patch(
        "seldon_core/wrapper.py",
        "    reflection.enable_server_reflection(SERVICE_NAMES, server)\n",
        "    enable_reflection(SERVICE_NAMES, server)\n",
        "reflection enabled through that name",
    ),
    # numpy 2 deprecates numpy.core (numpy._core now); ndarray is the same class from numpy itself.
    Patch(
        "seldon_core/microservice_tester.py",
        "from numpy.core.multiarray import ndarray\n",
        "from numpy import ndarray\n",
        "numpy.core is deprecated in numpy 2",
    ),
)


def patch(files: dict[str, bytes], patches: tuple[Patch, ...] = PATCHES) -> dict[str, bytes]:
    """The wheel's files with every patch applied; SystemExit naming the edit when its text is not
    found exactly once (the upstream source is not the one these edits were written for)."""
    patched = dict(files)
    for edit in patches:
        text = patched[edit.path].decode("utf-8") if edit.path in patched else ""
        if text.count(edit.old) != 1:
            raise SystemExit(f"patch '{edit.why}': {edit.path} does not contain its upstream text once")
        patched[edit.path] = text.replace(edit.old, edit.new).encode("utf-8")
    return patched
