// Explicit instantiations of Boost's archive templates for journal_oarchive / journal_iarchive
// (Boost compiles them only for its own archives).

#include "actors/detail/journal_archive.hpp"

#include <boost/archive/impl/archive_serializer_map.ipp>
#include <boost/archive/impl/basic_binary_oarchive.ipp>

namespace boost::archive {

template class detail::archive_serializer_map<actors::detail::journal_oarchive>;
template class detail::archive_serializer_map<actors::detail::journal_iarchive>;
template class basic_binary_oarchive<actors::detail::journal_oarchive>;
// basic_binary_iarchive is not instantiated as a whole: its init() reads Boost's header through a
// streambuf, which journal_iarchive does not have (it always uses no_header); journal_iarchive
// implements the one other out-of-line member, load_override(class_name_type&), itself.

} // namespace boost::archive
