//! Gives the shared library its own name inside it (ELF soname, Mach-O install name),
//! so that a runtime that preloads it from a path (the C# package with
//! LICENSE_CLIENT_LIBRARY) and then asks the system loader for "liblicense_client.so"
//! gets the same copy, and so that an app links against the name, not a build path.

fn main() {
    match std::env::var("CARGO_CFG_TARGET_OS").as_deref() {
        Ok("linux" | "android" | "freebsd" | "netbsd" | "openbsd") => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,liblicense_client.so");
        }
        Ok("macos" | "ios") => {
            println!(
                "cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/liblicense_client.dylib"
            );
        }
        _ => {}
    }
}
