//! What a notification says. Email is not a secure channel: a child appears by initials and a
//! link, never by name or date of birth, and nothing of a restricted involvement is written.

use uuid::Uuid;

/// A rendered message for one recipient.
#[derive(Debug, Clone)]
pub struct Content {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The line this message contributes to a daily digest.
    pub digest_line: String,
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "Leo Marsh" becomes "L.M.".
pub fn initials(given: &str, family: &str) -> String {
    let first = |s: &str| {
        s.trim()
            .chars()
            .next()
            .map(|c| c.to_uppercase().to_string())
            .unwrap_or_default()
    };
    format!("{}.{}.", first(given), first(family))
}

/// Where a message sends the reader.
#[derive(Debug, Clone)]
pub struct Links {
    pub public_url: String,
}

impl Links {
    pub fn new(public_url: &str) -> Links {
        Links {
            public_url: public_url.to_owned(),
        }
    }

    pub fn child(&self, child: Uuid) -> String {
        format!("{}/children/{child}", self.public_url)
    }
    pub fn preferences(&self) -> String {
        format!("{}/preferences", self.public_url)
    }
    pub fn set_password(&self, token: &str) -> String {
        format!("{}/set-password?token={token}", self.public_url)
    }
}

/// The headline as the start of a sentence.
fn capitalised(headline: &str) -> String {
    let mut chars = headline.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A message about a child: a headline, optional lines of detail, and the link.
pub fn about_child(
    links: &Links,
    child: Uuid,
    initials: &str,
    headline: &str,
    details: &[String],
) -> Content {
    let link = links.child(child);
    let subject = format!("Patchwork: {initials}: {headline}");
    let sentence = capitalised(headline);
    let mut text = format!("{sentence} (child {initials}).\n\n");
    for d in details {
        text.push_str(d);
        text.push('\n');
    }
    if !details.is_empty() {
        text.push('\n');
    }
    text.push_str(&format!(
        "Open Patchwork to see the team: {link}\n\n--\nChange which emails you get: {}\n",
        links.preferences()
    ));
    let mut html = format!("<p>{} (child {}).</p>", escape(&sentence), escape(initials));
    for d in details {
        html.push_str(&format!("<p>{}</p>", escape(d)));
    }
    html.push_str(&format!(
        "<p><a href=\"{}\">Open Patchwork to see the team</a></p><hr><p><small><a href=\"{}\">Change which emails you get</a></small></p>",
        escape(&link),
        escape(&links.preferences())
    ));
    Content {
        subject,
        digest_line: format!("{initials}: {headline} — {link}"),
        text,
        html,
    }
}

/// The first-password invitation.
pub fn invitation(links: &Links, name: &str, token: &str, valid_hours: i64) -> Content {
    let link = links.set_password(token);
    let text = format!(
        "Hello {name},\n\nAn account has been made for you on Patchwork, which shows who else is working \
         with a child and how to reach them.\n\nSet your password here (the link works once, for {valid_hours} hours):\n{link}\n"
    );
    let html = format!(
        "<p>Hello {},</p><p>An account has been made for you on Patchwork, which shows who else is working with a child and how to reach them.</p>\
         <p><a href=\"{}\">Set your password</a> (the link works once, for {valid_hours} hours).</p>",
        escape(name),
        escape(&link)
    );
    Content {
        subject: "Patchwork: set your password".to_owned(),
        digest_line: String::new(),
        text,
        html,
    }
}

/// A day's waiting messages in one.
pub fn digest(links: &Links, lines: &[String]) -> Content {
    let subject = format!(
        "Patchwork: {} update{} on children you work with",
        lines.len(),
        if lines.len() == 1 { "" } else { "s" }
    );
    let mut text = String::from("Since your last digest:\n\n");
    let mut html = String::from("<p>Since your last digest:</p><ul>");
    for l in lines {
        text.push_str(&format!("- {l}\n"));
        html.push_str(&format!("<li>{}</li>", escape(l)));
    }
    text.push_str(&format!(
        "\n--\nChange which emails you get: {}\n",
        links.preferences()
    ));
    html.push_str(&format!(
        "</ul><hr><p><small><a href=\"{}\">Change which emails you get</a></small></p>",
        escape(&links.preferences())
    ));
    Content {
        subject,
        digest_line: String::new(),
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_and_escaping() {
        assert_eq!(initials("leo", "Marsh"), "L.M.");
        assert_eq!(initials("Zoë", "Okafor-Reid"), "Z.O.");
        assert_eq!(
            escape("<a href='x'>&</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn child_messages_carry_no_names() {
        let links = Links {
            public_url: "https://pw.example".into(),
        };
        let c = about_child(
            &links,
            Uuid::nil(),
            "L.M.",
            "a contact was missed",
            &["Was not brought".into()],
        );
        assert!(c.subject.contains("L.M."));
        assert!(c.text.contains("https://pw.example/children/"));
        assert!(c.html.contains("https://pw.example/preferences"));
    }
}
