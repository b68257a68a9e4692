# `make test` is the whole gate: formatting, vet, staticcheck, the web app's
# type check, and every Go test (race detector on) against SQLite and the
# PostgreSQL at $PARLEY_TEST_POSTGRES.
GO          ?= go
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
GO_DIRS     := cmd internal api web client bench

.PHONY: test fmt-check vet staticcheck tsc go-test build run fuzz

test: fmt-check vet staticcheck tsc go-test

build:
	$(GO) build -o parley ./cmd/parley

run:
	$(GO) run ./cmd/parley serve

fmt-check:
	@out="$$(gofmt -l $$(ls -d $(GO_DIRS) 2>/dev/null) | grep -v /node_modules/ || true)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(STATICCHECK) ./...

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

tsc: web/node_modules/.package-lock.json
	cd web && npx --no-install tsc -p tsconfig.json

go-test: web/node_modules/.package-lock.json
	$(GO) test -race -count=1 -timeout 15m ./...

# A short run of every fuzz target; CI runs only their seed corpora (in go-test).
fuzz:
	$(GO) test ./internal/httpx -run '^$$' -fuzz FuzzDecodeJSON -fuzztime 30s
	$(GO) test ./internal/realtime -run '^$$' -fuzz FuzzDecodeFrame -fuzztime 30s
