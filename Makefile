# otoseg: the two commands a fresh machine needs are `make demo` and `make test`.
GO ?= go
BIN := bin/otoseg

.PHONY: build demo test vet fmt clean

build:
	$(GO) build -o $(BIN) ./cmd/otoseg

# demo: the main job on built-in defaults.
demo: build
	./scripts/demo.sh $(BIN)

test:
	./scripts/check-deps.sh
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...

fmt:
	gofmt -l -w .

clean:
	rm -rf bin demo-out
