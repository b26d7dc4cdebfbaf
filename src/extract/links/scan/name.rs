//! Tag names without allocating, and the byte classes the scanner stops at.

/// The longest tag name with a meaning here (`annotation-xml`).
const NAME_CAPACITY: usize = 16;

/// A tag name, lowercased: the page's own text when it already is (most
/// are), a copy otherwise.
pub(super) enum Name<'a> {
    Page(&'a [u8]),
    Short([u8; NAME_CAPACITY], u8),
    Long(String),
}

/// Byte classes of the tokenizer states the scan goes through.
pub(super) const WHITESPACE: u8 = 1;

pub(super) const ENDS_TAG_NAME: u8 = 2;

pub(super) const ENDS_ATTRIBUTE_NAME: u8 = 4;

pub(super) const ENDS_UNQUOTED_VALUE: u8 = 8;

pub(super) const CLASS: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut class = [0u8; 256];
    let spaces = [b'\t', b'\n', b'\r', b'\x0C', b' '];
    let mut index = 0;
    while index < spaces.len() {
        class[spaces[index] as usize] =
            WHITESPACE | ENDS_TAG_NAME | ENDS_ATTRIBUTE_NAME | ENDS_UNQUOTED_VALUE;
        index += 1;
    }
    class[b'/' as usize] = ENDS_TAG_NAME | ENDS_ATTRIBUTE_NAME;
    class[b'>' as usize] = ENDS_TAG_NAME | ENDS_ATTRIBUTE_NAME | ENDS_UNQUOTED_VALUE;
    class[b'=' as usize] = ENDS_ATTRIBUTE_NAME;
    class
}

/// The first offset from `from` on whose byte is of `class` (or the end).
pub(super) fn until(bytes: &[u8], from: usize, class: u8) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    from + rest
        .iter()
        .position(|&byte| CLASS[usize::from(byte)] & class != 0)
        .unwrap_or(rest.len())
}

impl<'a> Name<'a> {
    pub(super) fn new(raw: &'a str) -> Self {
        let bytes = raw.as_bytes();
        if !bytes.iter().any(u8::is_ascii_uppercase) {
            return Self::Page(bytes);
        }
        if bytes.len() > NAME_CAPACITY {
            return Self::Long(raw.to_ascii_lowercase());
        }
        let mut short = [0u8; NAME_CAPACITY];
        for (to, from) in short.iter_mut().zip(bytes) {
            *to = from.to_ascii_lowercase();
        }
        Self::Short(short, u8::try_from(bytes.len()).unwrap_or(0))
    }

    pub(super) fn bytes(&self) -> &[u8] {
        match self {
            Self::Page(bytes) => bytes,
            Self::Short(bytes, len) => &bytes[..usize::from(*len)],
            Self::Long(name) => name.as_bytes(),
        }
    }

    /// The name as text (built only where foreign elements are tracked).
    pub(super) fn to_text(&self) -> String {
        String::from_utf8_lossy(self.bytes()).into_owned()
    }
}

impl PartialEq<&str> for Name<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.bytes() == other.as_bytes()
    }
}
