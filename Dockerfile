# syntax=docker/dockerfile:1
# Build: docker build -t migration-guard --build-arg VERSION=$(git describe --tags --always) .
# The parser is PostgreSQL's own C code (pg_query), so the build needs cgo
# and the runtime image needs glibc. The runtime also carries git, because
# `check --base REF` (the image in a CI job) reads the base commit with it.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/migration-guard ./cmd/migration-guard

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*' \
 && useradd --uid 65532 --user-group --no-create-home --shell /usr/sbin/nologin nonroot \
 && mkdir -p /var/lib/migration-guard && chown 65532:65532 /var/lib/migration-guard && chmod 0700 /var/lib/migration-guard
# The default job queue (QUEUE_DATA_DIR): a volume, so that accepted
# deliveries outlive the container.
VOLUME /var/lib/migration-guard
COPY --from=build /out/migration-guard /usr/local/bin/migration-guard
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/migration-guard"]
CMD ["serve"]
