fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{}", fake_discord::config::USAGE);
        return;
    }
    let cfg = match fake_discord::config::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fake-discord: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = fake_discord::server::run(cfg) {
        eprintln!("fake-discord: {e}");
        std::process::exit(1);
    }
}
