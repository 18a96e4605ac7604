namespace Omoikane.Mail.Policy.Tables;

/// <summary>
/// Marks a table whose keys are patterns (cidr). Postfix skips such tables for partial keys
/// (parent domains "example.com", network prefixes "192.0.2"): util/dict.h DICT_FLAG_PATTERN vs DICT_FLAG_FIXED.
/// </summary>
internal interface IPatternTable
{
}
