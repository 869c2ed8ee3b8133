fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{}", fake_sellapp::config::USAGE);
        return;
    }
    let cfg = match fake_sellapp::config::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fake-sellapp: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = fake_sellapp::server::run(cfg) {
        eprintln!("fake-sellapp: {e}");
        std::process::exit(1);
    }
}
