//! How a task moves between statuses and who may move it. The assignee works the task
//! (`open → in_progress → done`); the author checks the result and accepts it or returns
//! it with a comment; the author may cancel it or reopen a cancelled one. Anyone else
//! whose scope lets them change the task (a head for their team, an administrator) may
//! act for the assignee, never for the author.

use crate::validation::FieldError;

/// The part a user plays in a task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskRole {
    /// They wrote the task.
    pub author: bool,
    /// It is assigned to them (or they may act for the assignee).
    pub assignee: bool,
}

/// Statuses in which nothing more is expected of anyone.
pub fn is_closed(status: &str) -> bool {
    matches!(status, "accepted" | "cancelled")
}

/// Statuses in which the assignee still has work to do.
pub const ACTIVE: &[&str] = &["open", "in_progress", "returned"];

/// Is a task with this status finished for the purpose of a repeating series? Accepted,
/// or done where there is nobody else to accept it (the author did it themselves).
pub fn completes_occurrence(status: &str, self_assigned: bool) -> bool {
    status == "accepted" || (status == "done" && self_assigned)
}

/// Checks a move from `from` to `to` by a user playing `role`. `comment` is what they
/// wrote with it; returning a task needs one. Errors name the `status` field.
pub fn check_transition(
    from: &str,
    to: &str,
    role: TaskRole,
    comment: Option<&str>,
) -> Result<(), FieldError> {
    if from == to {
        return Ok(());
    }
    let by_assignee = matches!(
        (from, to),
        ("open", "in_progress")
            | ("open", "done")
            | ("in_progress", "open")
            | ("in_progress", "done")
            | ("returned", "in_progress")
            | ("returned", "done")
    );
    let by_author = matches!(
        (from, to),
        ("done", "accepted")
            | ("done", "returned")
            | ("open" | "in_progress" | "returned" | "done", "cancelled")
            | ("cancelled", "open")
    );
    if !by_assignee && !by_author {
        return Err(FieldError::new("status", "error-transition")
            .with("from", from)
            .with("to", to));
    }
    if (by_assignee && !role.assignee) || (by_author && !role.author) {
        return Err(FieldError::new("status", "error-transition-forbidden")
            .with("from", from)
            .with("to", to)
            .with("who", if by_author { "author" } else { "assignee" }));
    }
    if to == "returned" && comment.is_none_or(|c| c.trim().is_empty()) {
        return Err(FieldError::new("comment", "error-comment-required"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTHOR: TaskRole = TaskRole {
        author: true,
        assignee: false,
    };
    const ASSIGNEE: TaskRole = TaskRole {
        author: false,
        assignee: true,
    };
    const NOBODY: TaskRole = TaskRole {
        author: false,
        assignee: false,
    };

    #[test]
    fn the_assignee_works_the_task() {
        assert!(check_transition("open", "in_progress", ASSIGNEE, None).is_ok());
        assert!(check_transition("in_progress", "done", ASSIGNEE, None).is_ok());
        assert!(check_transition("returned", "in_progress", ASSIGNEE, None).is_ok());
        let e = check_transition("open", "done", AUTHOR, None).unwrap_err();
        assert_eq!(e.key, "error-transition-forbidden");
    }

    #[test]
    fn only_the_author_accepts_returns_and_cancels() {
        for to in ["accepted", "returned", "cancelled"] {
            let e = check_transition("done", to, ASSIGNEE, Some("x")).unwrap_err();
            assert_eq!(e.key, "error-transition-forbidden", "{to}");
            let e = check_transition("done", to, NOBODY, Some("x")).unwrap_err();
            assert_eq!(e.key, "error-transition-forbidden", "{to}");
            assert!(
                check_transition("done", to, AUTHOR, Some("x")).is_ok(),
                "{to}"
            );
        }
        assert!(check_transition("cancelled", "open", AUTHOR, None).is_ok());
    }

    #[test]
    fn returning_needs_a_comment() {
        let e = check_transition("done", "returned", AUTHOR, Some("  ")).unwrap_err();
        assert_eq!(e.field, "comment");
        assert!(check_transition("done", "returned", AUTHOR, None).is_err());
    }

    #[test]
    fn some_moves_exist_for_no_one() {
        let both = TaskRole {
            author: true,
            assignee: true,
        };
        for (from, to) in [
            ("open", "accepted"),
            ("accepted", "open"),
            ("accepted", "returned"),
            ("cancelled", "done"),
            ("done", "in_progress"),
        ] {
            let e = check_transition(from, to, both, Some("x")).unwrap_err();
            assert_eq!(e.key, "error-transition", "{from} → {to}");
        }
    }

    #[test]
    fn a_self_assigned_task_is_complete_when_done() {
        assert!(completes_occurrence("done", true));
        assert!(!completes_occurrence("done", false));
        assert!(completes_occurrence("accepted", false));
        assert!(is_closed("cancelled") && !is_closed("done"));
    }
}
