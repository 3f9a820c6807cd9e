//! The embedded IPADIC system dictionary, built by `build.rs`.

mod embedded {
    lindera_dictionary::embedded_dictionary!("/lindera-ipadic", EmbeddedIPADICLoader);
}

pub use embedded::load as load_system_dictionary;
