/**
 * Who spent: what a hold's metadata says of the user key it was made with and, for an organisation, the
 * member that key belongs to. The usage row and the capture inherit the hold's metadata, so history and
 * `group_by=key|member` read it from there.
 */
export function spenderMetadata(
  userKeyId: string | undefined,
  memberId: string | undefined,
): Record<string, string> {
  return {
    ...(userKeyId === undefined ? {} : { user_key_id: userKeyId }),
    ...(memberId === undefined ? {} : { member_id: memberId }),
  };
}

/**
 * A client's own hold metadata without the spender fields (`user_key_id`, `member_id`): only the server
 * says which key and member spent, so a caller cannot put its spending on another key's or member's name.
 */
export function clientMetadata(
  metadata: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (metadata === undefined || !('member_id' in metadata || 'user_key_id' in metadata)) return metadata;
  const { member_id: _member, user_key_id: _key, ...rest } = metadata;
  return rest;
}
