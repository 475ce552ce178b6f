/**
 * Inline shortcuts for built-in calls, used by the code generator. Each applies only when the arguments
 * already have the signature's plain types, where jsonata's validation would pass them through unchanged
 * and the implementation cannot throw; every other call takes the generic path (builtins.ts `call`).
 * Arguments are temporaries or literals, hence the parentheses before a member access: `(0).x`, not `0.x`.
 */
export function fastCall(name: string, a: string[]): { when: string; value: string } | null {
  const isNum = (v: string) => `typeof ${v} === 'number'`;
  const isStr = (v: string) => `typeof ${v} === 'string'`;
  if (a.length === 1) {
    const [x] = a;
    switch (name) {
      case 'ceil': case 'floor': case 'abs':
        return { when: isNum(x), value: `Math.${name}(${x})` };
      case 'round':
        return { when: isNum(x), value: `round(${x})` };
      case 'number':
        return { when: isNum(x), value: x };
      case 'string':
        return { when: isStr(x), value: x };
      case 'uppercase':
        return { when: isStr(x), value: `(${x}).toUpperCase()` };
      case 'lowercase':
        return { when: isStr(x), value: `(${x}).toLowerCase()` };
      case 'exists':
        // <x:b> accepts any single argument, undefined included.
        return { when: 'true', value: `${x} !== undefined` };
    }
  }
  if (a.length === 2 && name === 'round') return { when: `${isNum(a[0])} && ${isNum(a[1])}`, value: `round(${a[0]}, ${a[1]})` };
  return null;
}
