fn main() -> std::process::ExitCode {
    kube_posture::cli::main()
}
