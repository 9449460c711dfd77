# Topoflow worker image (also holds the CLI and cloudsim).
#   docker build -t topoflow/worker .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/topoflow-worker ./worker && \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/topoflow ./starter && \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/cloudsim ./cmd/cloudsim

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
COPY specs/accounts.yaml /etc/topoflow/accounts.yaml
COPY cloudsim/worlds/ /etc/topoflow/worlds/
ENV TOPOFLOW_ACCOUNTS=/etc/topoflow/accounts.yaml \
    TOPOFLOW_METRICS_ADDR=:9090
EXPOSE 9090
USER nonroot
ENTRYPOINT ["/usr/local/bin/topoflow-worker"]
