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
# The same binary is the kubectl plugin when its program name is kubectl-posture. To use it
# from this image on a workstation:
#   id=$(docker create ghcr.io/kube-posture/kube-posture:0.1.0) && docker cp $id:/kube-posture ~/bin/ \
#     && docker rm $id && ln -sf kube-posture ~/bin/kubectl-posture      # then: kubectl posture findings
ENTRYPOINT ["/kube-posture"]
CMD ["run"]
