# The test command of README.md and .ci/run: installs what the tests need,
# checks formatting and vet, then runs every test with the race detector.
GO ?= go

.PHONY: test deps build demo bench fmt

build:
	$(GO) build -o hotfix .

deps:
	./scripts/install-deps.sh

test: deps
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" goreleaser check
	$(GO) test -race -timeout 20m ./...

demo:
	$(GO) run . demo

bench:
	./bench/repo.sh

fmt:
	gofmt -w $$(git ls-files '*.go')
