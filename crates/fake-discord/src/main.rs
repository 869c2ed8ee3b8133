fn main() {
    fake_http::main(
        "fake-discord",
        fake_discord::config::USAGE,
        fake_discord::config::parse,
        fake_discord::server::run,
    );
}
