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
