# syntax=docker/dockerfile:1
# Build: docker build -t migration-guard --build-arg VERSION=$(git describe --tags --always) .
# The parser is PostgreSQL's own C code (pg_query), so the build needs cgo
# and the runtime image needs glibc: distroless "cc" has it and nothing else.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/migration-guard ./cmd/migration-guard

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/migration-guard /usr/local/bin/migration-guard
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/migration-guard"]
CMD ["serve"]
