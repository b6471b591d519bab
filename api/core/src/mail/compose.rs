//! What a notification says. Email is not a secure channel: a child appears by initials and a
//! link, never by name or date of birth, and nothing of a restricted involvement is written.

use askama::Template;
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

/// Where a message sends the reader: this server's web client, or a council's own app when
/// `APP_LINK_TEMPLATE` is set.
#[derive(Debug, Clone)]
pub struct Links {
    pub public_url: String,
    pub app_template: Option<String>,
}

impl Links {
    pub fn of(config: &crate::config::Config) -> Links {
        Links {
            public_url: config.public_url.clone(),
            app_template: config.app_link_template.clone(),
        }
    }

    fn to(&self, path: &str) -> String {
        match &self.app_template {
            Some(template) => template.replace("{path}", path),
            None => format!("{}{path}", self.public_url),
        }
    }

    pub fn child(&self, child: Uuid) -> String {
        self.to(&format!("/children/{child}"))
    }
    pub fn preferences(&self) -> String {
        self.to("/preferences")
    }
    pub fn set_password(&self, token: &str) -> String {
        self.to(&format!("/set-password?token={token}"))
    }
    /// One-click unsubscribe (RFC 8058): always this server, which takes the POST.
    pub fn unsubscribe(&self, token: &str) -> String {
        format!("{}/unsubscribe?token={token}", self.public_url)
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

/// What a message about a child shows; rendered by `templates/mail/about_child.{txt,html}`.
struct AboutChild<'a> {
    sentence: &'a str,
    initials: &'a str,
    details: &'a [String],
    link: &'a str,
    preferences: &'a str,
}

#[derive(Template)]
#[template(path = "mail/about_child.txt")]
struct AboutChildText<'a> {
    m: &'a AboutChild<'a>,
}

#[derive(Template)]
#[template(path = "mail/about_child.html")]
struct AboutChildHtml<'a> {
    m: &'a AboutChild<'a>,
}

/// An invitation's words; `templates/mail/invitation.{txt,html}`.
struct Invitation<'a> {
    name: &'a str,
    link: &'a str,
    valid_hours: i64,
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
    m: &'a Invitation<'a>,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    m: &'a Invitation<'a>,
}

/// A digest's lines; `templates/mail/digest.{txt,html}`.
struct Digest<'a> {
    lines: &'a [String],
    preferences: &'a str,
}

#[derive(Template)]
#[template(path = "mail/digest.txt")]
struct DigestText<'a> {
    m: &'a Digest<'a>,
}

#[derive(Template)]
#[template(path = "mail/digest.html")]
struct DigestHtml<'a> {
    m: &'a Digest<'a>,
}

/// Renders a template whose every value is plain text: it cannot fail.
fn render(template: &impl Template) -> String {
    template
        .render()
        .expect("mail templates render from plain text alone")
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
    let preferences = links.preferences();
    let sentence = capitalised(headline);
    let m = AboutChild {
        sentence: &sentence,
        initials,
        details,
        link: &link,
        preferences: &preferences,
    };
    Content {
        subject: format!("Patchwork: {initials}: {headline}"),
        digest_line: format!("{initials}: {headline} — {link}"),
        text: render(&AboutChildText { m: &m }),
        html: render(&AboutChildHtml { m: &m }),
    }
}

/// The first-password invitation.
pub fn invitation(links: &Links, name: &str, token: &str, valid_hours: i64) -> Content {
    let link = links.set_password(token);
    let m = Invitation {
        name,
        link: &link,
        valid_hours,
    };
    Content {
        subject: "Patchwork: set your password".to_owned(),
        digest_line: String::new(),
        text: render(&InvitationText { m: &m }),
        html: render(&InvitationHtml { m: &m }),
    }
}

/// Why an endpoint was disabled; `templates/mail/webhook_disabled.{txt,html}`.
struct WebhookDisabled<'a> {
    url: &'a str,
    failures: i32,
    error: &'a str,
}

#[derive(Template)]
#[template(path = "mail/webhook_disabled.txt")]
struct WebhookDisabledText<'a> {
    m: &'a WebhookDisabled<'a>,
}

#[derive(Template)]
#[template(path = "mail/webhook_disabled.html")]
struct WebhookDisabledHtml<'a> {
    m: &'a WebhookDisabled<'a>,
}

/// To an agency's admins: their webhook endpoint kept failing and was disabled. It names the
/// endpoint, never a child.
pub fn webhook_disabled(url: &str, failures: i32, error: &str) -> Content {
    let m = WebhookDisabled {
        url,
        failures,
        error,
    };
    Content {
        subject: "Patchwork: a webhook endpoint was disabled".to_owned(),
        digest_line: String::new(),
        text: render(&WebhookDisabledText { m: &m }),
        html: render(&WebhookDisabledHtml { m: &m }),
    }
}

/// A day's waiting messages in one.
pub fn digest(links: &Links, lines: &[String]) -> Content {
    let subject = format!(
        "Patchwork: {} update{} on children you work with",
        lines.len(),
        if lines.len() == 1 { "" } else { "s" }
    );
    let preferences = links.preferences();
    let m = Digest {
        lines,
        preferences: &preferences,
    };
    Content {
        subject,
        digest_line: String::new(),
        text: render(&DigestText { m: &m }),
        html: render(&DigestHtml { m: &m }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials() {
        assert_eq!(super::initials("leo", "Marsh"), "L.M.");
        assert_eq!(super::initials("Zoë", "Okafor-Reid"), "Z.O.");
    }

    fn links() -> Links {
        Links {
            public_url: "https://pw.example".into(),
            app_template: None,
        }
    }

    #[test]
    fn a_message_about_a_child_reads_the_same_as_text_and_html() {
        let c = about_child(
            &links(),
            Uuid::nil(),
            "L.M.",
            "a team member raised attention",
            &[
                "“Call me <today> & tomorrow's fine”".into(),
                "Contact: a@b.example".into(),
            ],
        );
        let link = "https://pw.example/children/00000000-0000-0000-0000-000000000000";
        assert_eq!(
            c.text,
            format!(
                "A team member raised attention (child L.M.).\n\n\
                 “Call me <today> & tomorrow's fine”\nContact: a@b.example\n\n\
                 Open Patchwork to see the team: {link}\n\n--\n\
                 Change which emails you get: https://pw.example/preferences\n"
            )
        );
        assert_eq!(
            c.html,
            format!(
                "<p>A team member raised attention (child L.M.).</p>\
                 <p>“Call me &#60;today&#62; &#38; tomorrow&#39;s fine”</p><p>Contact: a@b.example</p>\
                 <p><a href=\"{link}\">Open Patchwork to see the team</a></p><hr><p><small>\
                 <a href=\"https://pw.example/preferences\">Change which emails you get</a></small></p>"
            )
        );
        let bare = about_child(&links(), Uuid::nil(), "L.M.", "the team has changed", &[]);
        assert!(
            bare.text
                .starts_with("The team has changed (child L.M.).\n\nOpen Patchwork"),
            "{}",
            bare.text
        );
    }

    #[test]
    fn invitations_and_digests() {
        let c = invitation(&links(), "Ann <Lee>", "tok", 72);
        assert_eq!(
            c.text,
            "Hello Ann <Lee>,\n\nAn account has been made for you on Patchwork, which shows who \
             else is working with a child and how to reach them.\n\nSet your password here (the \
             link works once, for 72 hours):\nhttps://pw.example/set-password?token=tok\n"
        );
        assert!(
            c.html.starts_with("<p>Hello Ann &#60;Lee&#62;,</p>"),
            "{}",
            c.html
        );
        let d = digest(&links(), &["L.M.: a".into(), "K.P.: b".into()]);
        assert_eq!(d.subject, "Patchwork: 2 updates on children you work with");
        assert_eq!(
            d.text,
            "Since your last digest:\n\n- L.M.: a\n- K.P.: b\n\n--\n\
             Change which emails you get: https://pw.example/preferences\n"
        );
        assert_eq!(
            d.html,
            "<p>Since your last digest:</p><ul><li>L.M.: a</li><li>K.P.: b</li></ul><hr><p><small>\
             <a href=\"https://pw.example/preferences\">Change which emails you get</a></small></p>"
        );
    }

    #[test]
    fn child_messages_carry_no_names() {
        let links = Links {
            public_url: "https://pw.example".into(),
            app_template: None,
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

    #[test]
    fn a_councils_app_receives_the_links_but_unsubscribing_stays_here() {
        let links = Links {
            public_url: "https://pw.example".into(),
            app_template: Some("https://app.council.example/open{path}".into()),
        };
        let child = Uuid::nil();
        assert_eq!(
            links.child(child),
            format!("https://app.council.example/open/children/{child}")
        );
        assert_eq!(
            links.set_password("t0k"),
            "https://app.council.example/open/set-password?token=t0k"
        );
        assert_eq!(
            links.unsubscribe("u"),
            "https://pw.example/unsubscribe?token=u"
        );
    }
}
