fn main() {
    fake_http::main(
        "fake-sellapp",
        fake_sellapp::config::USAGE,
        fake_sellapp::config::parse,
        fake_sellapp::server::run,
    );
}
