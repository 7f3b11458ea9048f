# Seldon Core s2i builders. `make demo` runs the main job; `make test` runs every test.
SHELL := /bin/bash
VERSION := $(shell cat VERSION)
DOCKER ?= docker
PYTHON_IMAGE ?= seldonio/seldon-core-s2i-python3:$(VERSION)
ONNX_IMAGE ?= seldonio/seldon-core-s2i-python3-ngraph-onnx:$(VERSION)
# One builder per Python, on the Debian suite that has it: seldon-core-s2i-python3<minor>, named after
# PYTHON_IMAGE (its repository plus the minor version, its tag). PYTHON_IMAGE itself is the image of
# DEFAULT_PYTHON, the newest stable one. A base per Python: `make images BASE_IMAGE_3.13=python:3.13-slim`
# builds that one on the official image where a registry is reachable.
PYTHONS := 3.11 3.13 3.14
SUITE_3.11 := bookworm
SUITE_3.13 := trixie
SUITE_3.14 := forky
DEFAULT_PYTHON := 3.13
IMAGE_TAG := $(lastword $(subst :, ,$(PYTHON_IMAGE)))
image_of = $(patsubst %:$(IMAGE_TAG),%,$(PYTHON_IMAGE))$(subst 3.,,$(1)):$(IMAGE_TAG)
BUILDER_IMAGES := $(foreach py,$(PYTHONS),$(call image_of,$(py)))
$(foreach py,$(PYTHONS),$(eval BASE_IMAGE_$(py) ?= seldon-s2i-base:$(SUITE_$(py))))
# The host's apt sources give mmdebstrap a mirror this machine can reach; its suite names are
# replaced with the one bootstrapped.
APT_SOURCES ?= $(firstword $(wildcard /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list))
# testing's Release files are valid for a week only, and a mirror that serves a dated snapshot serves
# them expired: apt still checks their signatures, not their age. For the bootstrap only: the option
# file is removed from the image, so apt in an image checks dates as usual.
BOOTSTRAP_OPTS ?= --aptopt='Acquire::Check-Valid-Until "false"'
comma := ,
HOST_SUITE := $(shell . /etc/os-release 2>/dev/null && echo $$VERSION_CODENAME)
VENV := .venv
PY := $(VENV)/bin/python
DEMO_IMAGE ?= seldon-demo-model:$(VERSION)
# The legacy builder: it needs no buildx plugin, and these Dockerfiles use nothing BuildKit adds.
export DOCKER_BUILDKIT := 0
# Installs copy files out of uv's cache instead of hard-linking them: a test or tool that edits an
# installed file must never change the cached wheel that every later install shares.
export UV_LINK_MODE := copy

.PHONY: help docker base-image images venv demo test test-unit bench lint fmt clean lock

help:
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

docker: ## install Debian's docker.io if absent, start dockerd if not running
	@command -v dockerd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null; }
	@if ! $(DOCKER) info >/dev/null 2>&1; then \
		echo "---> starting dockerd (log: /tmp/dockerd.log)"; \
		nohup dockerd --bridge=none --iptables=false >/tmp/dockerd.log 2>&1 & \
		for i in $$(seq 60); do $(DOCKER) info >/dev/null 2>&1 && break; sleep 1; done; \
		$(DOCKER) info >/dev/null || { tail -20 /tmp/dockerd.log; exit 1; }; \
	fi

base-image: $(foreach py,$(PYTHONS),base-image-$(py)) ## bootstrap each Python's Debian suite with mmdebstrap (skipped when present)

# A Debian suite with one Python (python3.X and its venv module), CA certificates and tini: nothing
# else from the archive. The builder images take the setuid bits away (Dockerfile.python3).
base-image-%: docker
	@if $(DOCKER) image inspect $(BASE_IMAGE_$*) >/dev/null 2>&1; then \
		echo "---> base image $(BASE_IMAGE_$*) present"; \
	elif [ "$(BASE_IMAGE_$*)" != "seldon-s2i-base:$(SUITE_$*)" ]; then \
		$(DOCKER) pull $(BASE_IMAGE_$*); \
	else \
		command -v mmdebstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null; }; \
		echo "---> bootstrapping $(BASE_IMAGE_$*) (Debian $(SUITE_$*), Python $*) with mmdebstrap"; \
		tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		sed -E 's/\<$(HOST_SUITE)\>/$(SUITE_$*)/g' $(APT_SOURCES) > "$$tmp/$(notdir $(APT_SOURCES))" && \
		mmdebstrap --variant=minbase --quiet $(BOOTSTRAP_OPTS) \
			--include=python$*,python$*-venv,ca-certificates,tini \
			--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
			--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
			--customize-hook='copy-in /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs' \
			--customize-hook='rm -rf "$$1"/var/lib/apt/lists/* "$$1"/var/cache/apt/*.bin' \
			--customize-hook='rm -f "$$1"/etc/apt/apt.conf.d/99mmdebstrap' \
			$(SUITE_$*) "$$tmp/base.tar" "$$tmp/$(notdir $(APT_SOURCES))" && \
		$(DOCKER) import --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' "$$tmp/base.tar" $(BASE_IMAGE_$*); \
	fi

images: $(foreach py,$(PYTHONS),image-$(py)) ## build every builder image, python3 (the default Python's) and ngraph-onnx
	$(DOCKER) tag $(call image_of,$(DEFAULT_PYTHON)) $(PYTHON_IMAGE)
	$(DOCKER) build --network host -f Dockerfile.ngraph-onnx --build-arg PYTHON_IMAGE=$(PYTHON_IMAGE) \
		--build-arg VERSION=$(VERSION) -t $(ONNX_IMAGE) .

# The image names of every builder go into each image, so that a source asking for another Python
# is told which one takes it (builders/python_version.py).
image-%: base-image-%
	$(DOCKER) build --network host -f Dockerfile.python3 --build-arg BASE_IMAGE=$(BASE_IMAGE_$*) \
		--build-arg PYTHON=$* --build-arg SUITE=$(SUITE_$*) --build-arg VERSION=$(VERSION) \
		--build-arg BUILDERS="$(foreach py,$(PYTHONS),$(py)=$(call image_of,$(py))$(if $(filter $(py),$(DEFAULT_PYTHON)),$(comma)$(PYTHON_IMAGE)))" \
		--build-arg NAME=python$(subst .,,$*) \
		-t $(call image_of,$*) .

venv: $(VENV)/.installed ## the developer environment: tests, lint, the seldon-core client
$(VENV)/.installed: pyproject.toml VERSION builders/wrapper-lock.txt builders/wrapper-requirements.txt \
		builders/protoc-lock.txt builders/wrapperwheel.py builders/wrapperpatches.py builders/wrapper.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet uv==0.13.9
	@# seldon-core (SeldonClient, the gRPC stubs) as the images have it: the release builders/wrapper.py
	@# names, downloaded and rebuilt by builders/wrapperwheel.py
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r builders/protoc-lock.txt
	rm -rf $(VENV)/wrapper
	$(PY) -m builders.wrapperwheel builders/wrapper-requirements.txt $(VENV)/wrapper
	$(VENV)/bin/uv pip install --quiet --python $(PY) -c builders/wrapper-lock.txt --find-links $(VENV)/wrapper \
		-e '.[dev]' $(VENV)/wrapper/seldon_core-*.whl
	touch $@

demo: images venv ## build templates/model-template-app, serve it, show a prediction
	@# --network host: these machines run dockerd without a bridge, and the build installs from the index
	$(PY) -m builders.host templates/model-template-app $(PYTHON_IMAGE) $(DEMO_IMAGE) --network host
	$(PY) -m tests.demo $(DEMO_IMAGE)

test: images venv ## unit and Docker tests
	$(PY) -m pytest

bench: images venv $(VENV)-mlserver/.installed ## measure builds and serving against a baseline and MLServer; writes BENCHMARKS.md
	@# the load generators: wrk for HTTP/1.1 (REST), h2load (nghttp2-client) for HTTP/2 (gRPC)
	@command -v wrk >/dev/null && command -v h2load >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nghttp2-client >/dev/null; }
	$(VENV)/bin/uv pip install --quiet --python $(PY) -c builders/wrapper-lock.txt --find-links $(VENV)/wrapper \
		-e '.[dev,bench]' $(VENV)/wrapper/seldon_core-*.whl
	$(PY) -m tests.bench

# MLServer, the benchmark's peer, in an environment of its own (its dependencies are not the wrapper's)
$(VENV)-mlserver/.installed: tests/mlserver-requirements.txt
	test -x $(VENV)-mlserver/bin/python || python3 -m venv $(VENV)-mlserver
	$(VENV)-mlserver/bin/pip install --quiet --disable-pip-version-check -r tests/mlserver-requirements.txt
	touch $@

test-unit: venv
	$(PY) -m pytest -m 'not docker'

lint: venv ## check only
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: venv ## rewrite
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lock: venv ## re-pin the wrapper environment, the protoc stage and the ngraph-onnx runtime
	@# seldon-core itself is left out: the images install it rebuilt (builders/wrapperwheel.py), with
	@# wrapper-requirements.txt as its requirements instead of its 2023 metadata pins.
	@# One lock for every Python of PYTHONS (--universal): where a release needs a newer Python than the
	@# oldest (numpy 2.5 needs 3.12), the lock holds one line per Python range, with its marker.
	$(VENV)/bin/uv pip compile --quiet --universal --python-version $(firstword $(PYTHONS)) --no-annotate \
		--custom-compile-command "make lock" \
		<(grep -iv '^seldon-core' builders/wrapper-requirements.txt) <(echo pip) -o builders/wrapper-lock.txt
	$(VENV)/bin/uv pip compile --quiet --universal --python-version $(firstword $(PYTHONS)) --no-annotate \
		--custom-compile-command "make lock" \
		-c builders/wrapper-lock.txt builders/protoc-requirements.txt -o builders/protoc-lock.txt
	@# the ngraph-onnx image is built FROM the default Python's image
	$(VENV)/bin/uv pip compile --quiet --python-version $(DEFAULT_PYTHON) --python-platform x86_64-manylinux_2_28 \
		--no-annotate --custom-compile-command "make lock" -c builders/wrapper-lock.txt \
		<(grep -iv '^seldon-core' builders/wrapper-requirements.txt) builders/onnx-requirements.txt \
		-o builders/onnx-lock.txt

clean: ## remove the images this repository builds (the base images stay: they are slow to make)
	-$(DOCKER) rmi $(ONNX_IMAGE) $(PYTHON_IMAGE) $(BUILDER_IMAGES) $(DEMO_IMAGE)
	-$(DOCKER) image prune --force --filter label=io.openshift.s2i.build.image
	rm -rf $(VENV) $(VENV)-mlserver .pytest_cache .mypy_cache .ruff_cache
