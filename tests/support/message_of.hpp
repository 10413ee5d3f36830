// The message of the exception a callable throws, for checks on the whole text.
#ifndef XTRAIN_TESTS_SUPPORT_MESSAGE_OF_HPP
#define XTRAIN_TESTS_SUPPORT_MESSAGE_OF_HPP

#include <exception>
#include <string>

namespace xtrain::test
{
    /** @brief What @p f throws (any std::exception), or "(no exception)". */
    template <class F>
    std::string message_of(F&& f)
    {
        try
        {
            f();
        }
        catch (const std::exception& e)
        {
            return e.what();
        }
        return "(no exception)";
    }
}

#endif
