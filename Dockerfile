# Build: docker build -t ghcr.io/kube-posture/kube-posture:0.1.0 .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p kube-posture \
 && cp target/release/kube-posture /kube-posture

# glibc and nothing else: no shell, no package manager; runs as the distroless nonroot user.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /kube-posture /kube-posture
USER 65532:65532
ENTRYPOINT ["/kube-posture"]
CMD ["run"]
