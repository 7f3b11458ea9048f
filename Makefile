# Seldon Core s2i builders. `make demo` runs the main job; `make test` runs every test.
SHELL := /bin/bash
VERSION := $(shell cat VERSION)
DOCKER ?= docker
PYTHON_IMAGE ?= seldonio/seldon-core-s2i-python3:$(VERSION)
ONNX_IMAGE ?= seldonio/seldon-core-s2i-python3-ngraph-onnx:$(VERSION)
LOCAL_BASE := seldon-s2i-base:bookworm
BASE_IMAGE ?= $(LOCAL_BASE)
# The host's apt sources give mmdebstrap a mirror this machine can reach.
APT_SOURCES ?= $(firstword $(wildcard /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list))
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

base-image: docker ## bootstrap Debian bookworm with mmdebstrap (skipped when present)
	@if $(DOCKER) image inspect $(BASE_IMAGE) >/dev/null 2>&1; then \
		echo "---> base image $(BASE_IMAGE) present"; \
	elif [ "$(BASE_IMAGE)" != "$(LOCAL_BASE)" ]; then \
		$(DOCKER) pull $(BASE_IMAGE); \
	else \
		command -v mmdebstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null; }; \
		echo "---> bootstrapping $(BASE_IMAGE) with mmdebstrap"; \
		tarball=$$(mktemp --suffix=.tar) && trap 'rm -f "$$tarball"' EXIT && \
		mmdebstrap --variant=minbase --quiet \
			--include=python3,python3-venv,ca-certificates,tini \
			--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
			--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
			--customize-hook='copy-in /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs' \
			--customize-hook='rm -rf "$$1"/var/lib/apt/lists/* "$$1"/var/cache/apt/*.bin' \
			bookworm "$$tarball" $(APT_SOURCES) && \
		$(DOCKER) import --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' "$$tarball" $(BASE_IMAGE); \
	fi

images: base-image ## build the builder images
	$(DOCKER) build --network host -f Dockerfile.python3 --build-arg BASE_IMAGE=$(BASE_IMAGE) \
		--build-arg VERSION=$(VERSION) -t $(PYTHON_IMAGE) .
	$(DOCKER) build --network host -f Dockerfile.ngraph-onnx --build-arg PYTHON_IMAGE=$(PYTHON_IMAGE) \
		--build-arg VERSION=$(VERSION) -t $(ONNX_IMAGE) .

venv: $(VENV)/.installed ## the developer environment: tests, lint, the seldon-core client
$(VENV)/.installed: pyproject.toml VERSION builders/wrapper-lock.txt builders/wrapper-requirements.txt \
		builders/protoc-lock.txt builders/wrapperwheel.py builders/wrapper.py
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
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
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
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 --no-annotate --custom-compile-command "make lock" \
		<(grep -iv '^seldon-core' builders/wrapper-requirements.txt) <(echo pip) -o builders/wrapper-lock.txt
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 --no-annotate --custom-compile-command "make lock" \
		-c builders/wrapper-lock.txt builders/protoc-requirements.txt -o builders/protoc-lock.txt
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--no-annotate --custom-compile-command "make lock" -c builders/wrapper-lock.txt \
		<(grep -iv '^seldon-core' builders/wrapper-requirements.txt) builders/onnx-requirements.txt \
		-o builders/onnx-lock.txt

clean: ## remove the images this repository builds (the base image stays: it is slow to make)
	-$(DOCKER) rmi $(ONNX_IMAGE) $(PYTHON_IMAGE) $(DEMO_IMAGE)
	-$(DOCKER) image prune --force --filter label=io.openshift.s2i.build.image
	rm -rf $(VENV) $(VENV)-mlserver .pytest_cache .mypy_cache .ruff_cache
