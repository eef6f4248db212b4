// AppDelegate for a React Native app using sealcall with react-native-callkeep 4.3.16 and
// react-native-voip-push-notification 3.3.3 (every RNCallKeep and RNVoipPushNotificationManager
// selector below is declared in their headers; test/examples-react-native.test.ts checks it).
//
// Why native code: since iOS 13 every VoIP push must be reported to CallKit before PushKit's
// delegate method returns, or iOS ends the app and, after repeated misses, stops delivering VoIP
// pushes. A push that wakes a killed app arrives long before JavaScript runs, so it is reported
// here; JavaScript (App.ts, takeVoipPush) then opens it and updates the call.
//
// This is for an app that uses CallKit. Where it must not (China's App Store: decideCallKit() in
// App.ts), neither may it register for VoIP pushes: gate setup and voipRegistration below on the
// same decision, saved where this code reads it at launch.
#import "AppDelegate.h"

#import <React/RCTBundleURLProvider.h>

#import "RNCallKeep.h"
#import "RNVoipPushNotificationManager.h"

// The CallKit UUID of a sealcall push ({ "sealcall": { "v", "uuid", "sealed" } }) in the
// lowercase form JavaScript uses (normalizeUuid), or nil when the payload has none.
static NSString *SealcallPushUUID(NSDictionary *payload)
{
  id push = payload[@"sealcall"];
  id uuid = [push isKindOfClass:[NSDictionary class]] ? push[@"uuid"] : nil;
  if (![uuid isKindOfClass:[NSString class]]) {
    return nil;
  }
  NSUUID *parsed = [[NSUUID alloc] initWithUUIDString:uuid];
  return parsed == nil ? nil : parsed.UUIDString.lowercaseString;
}

// Reports a call to CallKit as a neutral "Incoming call": nothing about the caller is readable
// here (the push is sealed to this device); JavaScript replaces it with the authenticated contact.
static void ReportIncomingCall(NSString *uuid, NSDictionary *payload, void (^reported)(void))
{
  [RNCallKeep reportNewIncomingCall:uuid
                             handle:@"unknown"
                         handleType:@"generic"
                           hasVideo:NO
                localizedCallerName:@"Incoming call"
                    supportsHolding:YES
                       supportsDTMF:NO
                   supportsGrouping:NO
                 supportsUngrouping:NO
                        fromPushKit:YES
                            payload:payload
              withCompletionHandler:reported];
}

@implementation AppDelegate {
  // UUIDs reported in this process: APNs may deliver a push twice.
  NSMutableSet<NSString *> *_reportedPushes;
}

- (BOOL)application:(UIApplication *)application didFinishLaunchingWithOptions:(NSDictionary *)launchOptions
{
  _reportedPushes = [NSMutableSet set];

  // CallKit's provider, before any push can arrive; the same values as App.ts's CALLKEEP_OPTIONS.ios
  // (RNCallKeep.setup() in JavaScript changes nothing once this ran).
  [RNCallKeep setup:@{
    @"appName" : @"Chat",
    @"supportsVideo" : @YES,
    @"maximumCallGroups" : @"1",
    @"maximumCallsPerCallGroup" : @"1",
  }];
  // PushKit at every launch: it delivers a push only once the app registered again, and a push
  // to a killed app starts it through this very method.
  [RNVoipPushNotificationManager voipRegistration];

  self.moduleName = @"Chat";
  self.initialProps = @{};
  return [super application:application didFinishLaunchingWithOptions:launchOptions];
}

- (NSURL *)sourceURLForBridge:(RCTBridge *)bridge
{
  return [self bundleURL];
}

- (NSURL *)bundleURL
{
#if DEBUG
  return [[RCTBundleURLProvider sharedSettings] jsBundleURLForBundleRoot:@"index"];
#else
  return [[NSBundle mainBundle] URLForResource:@"main" withExtension:@"jsbundle"];
#endif
}

#pragma mark - PKPushRegistryDelegate

// The PushKit token: to JavaScript's 'register' listener (queued until it listens).
- (void)pushRegistry:(PKPushRegistry *)registry
    didUpdatePushCredentials:(PKPushCredentials *)credentials
                     forType:(PKPushType)type
{
  [RNVoipPushNotificationManager didUpdatePushCredentials:credentials forType:(NSString *)type];
}

- (void)pushRegistry:(PKPushRegistry *)registry didInvalidatePushTokenForType:(PKPushType)type
{
  // PushKit registers again by itself and calls didUpdatePushCredentials with the new token.
}

- (void)pushRegistry:(PKPushRegistry *)registry
    didReceiveIncomingPushWithPayload:(PKPushPayload *)payload
                              forType:(PKPushType)type
                withCompletionHandler:(void (^)(void))completion
{
  NSString *uuid = SealcallPushUUID(payload.dictionaryPayload);

  if (uuid == nil || [_reportedPushes containsObject:uuid]) {
    // Not a sealcall push, or a repeat of one already reported: iOS still requires a report for
    // it. A placeholder under a fresh UUID (never the repeated one, whose call may be live) is
    // shown and ended as failed (1) at once; PushKit is done then.
    NSString *placeholder = [NSUUID UUID].UUIDString.lowercaseString;
    ReportIncomingCall(placeholder, nil, ^{
      [RNCallKeep endCallWithUUID:placeholder reason:1];
      completion();
    });
    return;
  }
  [_reportedPushes addObject:uuid];

  // JavaScript releases PushKit's completion once it has taken the push:
  // VoipPushNotification.onVoipNotificationCompleted(uuid) in App.ts.
  [RNVoipPushNotificationManager addCompletionHandler:uuid completionHandler:completion];
  // To JavaScript's 'notification' listener (queued for 'didLoadWithEvents' until it listens).
  [RNVoipPushNotificationManager didReceiveIncomingPushWithPayload:payload forType:(NSString *)type];
  // The payload also reaches JavaScript with callkeep's didDisplayIncomingCall, which the bridge
  // handles (a duplicate of the 'notification' one is ignored).
  ReportIncomingCall(uuid, payload.dictionaryPayload, nil);
}

@end
