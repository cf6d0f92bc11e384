#pragma once
// Messages a task actor receives. Payloads are plain strings (serialized bytes): CAF needs no type
// announcements for them.

#include <caf/atom.hpp>

namespace actors::detail {

/// (effect_done_atom, uint32 seq, bool failed, string result_bytes_or_error, string text)
using effect_done_atom = caf::atom_constant<caf::atom("effdone")>;
/// (call_done_atom, uint32 seq, uint8 outcome_state, string payload, string text, caf::error)
using call_done_atom = caf::atom_constant<caf::atom("calldone")>;
/// (journal_fail_atom, string message)
using journal_fail_atom = caf::atom_constant<caf::atom("jfail")>;
/// (timer_atom, uint32 seq): the durable timer of the sleep at `seq` is due.
using timer_atom = caf::atom_constant<caf::atom("timer")>;
/// (mail_atom, uint32 seq): a message arrived for the receive at `seq`.
using mail_atom = caf::atom_constant<caf::atom("mail")>;
/// (mail_room_atom, uint32 seq): the mailbox the send at `seq` waits for has room (or closed): try again.
using mail_room_atom = caf::atom_constant<caf::atom("mailroom")>;
/// (detach_atom): stop without a journaled end; the next engine resumes the task (engine shutdown).
using detach_atom = caf::atom_constant<caf::atom("detach")>;
/// (stop_atom): cancel, but let a running effect handler finish and journal its result first (a
/// supervisor's shutdown of a child).
using stop_atom = caf::atom_constant<caf::atom("stop")>;
/// (cancel_atom): stop the task and its call tree (engine::cancel).
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;

} // namespace actors::detail
